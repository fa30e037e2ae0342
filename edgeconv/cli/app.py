"""Placeholder, replaced below."""
def main() -> None:  # pragma: no cover
    pass
