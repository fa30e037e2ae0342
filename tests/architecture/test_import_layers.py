"""The layering rule, checked on every import statement (top level and inside functions).

runtime -> edgeconv (ops) -> models -> export -> research -> cli: nothing imports from a package above it.
``edgeconv.runtime`` imports no other edgeconv package but ``edgeconv.errors``. The research harness
(``edgeconv.research``) sits above export, which it uses to time deploy graphs: no exception to the rule.
Inside a package, two sibling sub-packages never import each other (one of them is below the other).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"runtime": "edgeconv.runtime", "edgeconv": "edgeconv", "models": "edgeconv.models",
           "export": "edgeconv.export"}
LAYERS = ["edgeconv.runtime", "edgeconv", "edgeconv.models", "edgeconv.export", "edgeconv.research", "edgeconv.cli"]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    base = FOLDERS[parts[0]]
    name = ".".join([base, *parts[1:]])
    return name.removesuffix(".__init__")


def layer_of(module: str) -> str:
    """The package a module belongs to, for the rule (``edgeconv.errors`` sits below everything)."""
    if module == "edgeconv.errors":
        return "errors"
    for layer in sorted(LAYERS, key=len, reverse=True):  # the longest prefix: edgeconv.research before edgeconv
        if module == layer or module.startswith(layer + "."):
            return layer
    return "external"


def edgeconv_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            target = next((n for n in reversed(names) if n.startswith("edgeconv")), None)
            if node.module.startswith("edgeconv"):
                # `from edgeconv.export import x` may name a module or an attribute: judge by the module
                found.append((node.lineno, node.module if node.module != "edgeconv" else target or node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("edgeconv")]
    return found


def allowed(importer: str, imported: str) -> bool:
    src, dst = layer_of(importer), layer_of(imported)
    if dst in ("errors", "external") or src == dst:
        return True
    if src == "edgeconv.runtime":
        return False
    return LAYERS.index(dst) < LAYERS.index(src)


SOURCES = sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_folder_is_scanned() -> None:
    assert len(SOURCES) > 60 and any(p.parts[-2] == "cli" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_from_a_package_above_it(path: Path) -> None:
    importer = module_name(path)
    bad = [f"line {line}: {name}" for line, name in edgeconv_imports(path) if not allowed(importer, name)]
    assert not bad, f"{importer} ({layer_of(importer)}) imports from above: {bad}"


def sibling_of(module: str, package: str) -> str | None:
    """The child of ``package`` (sub-package or module) that ``module`` lives in, or None outside it."""
    if not module.startswith(package + "."):
        return None
    return module[len(package) + 1:].split(".")[0]


def test_sibling_folders_import_one_way() -> None:
    """E.g. runtime/backends and runtime/profiling, export/deploy and export/graph: never both ways."""
    imports = {module_name(path): {name for _, name in edgeconv_imports(path)} for path in SOURCES}
    packages = {module_name(path) for path in SOURCES if path.name == "__init__.py"}
    two_way = []
    for package in sorted(packages):
        uses: dict[str, set[str]] = {}
        for importer, names in imports.items():
            child = sibling_of(importer, package)
            if child is None:
                continue
            uses.setdefault(child, set()).update(
                c for c in (sibling_of(n, package) for n in names) if c is not None and c != child)
        two_way += [f"{package}: {a} <-> {b}" for a in uses for b in uses[a] if a < b and a in uses.get(b, ())]
    assert not two_way, two_way


def test_layers_are_classified_by_the_longest_prefix() -> None:
    assert layer_of("edgeconv.research.compare") == "edgeconv.research"
    assert layer_of("edgeconv.research") == "edgeconv.research"
    assert layer_of("edgeconv.researchers") == "edgeconv"  # a prefix of the name, not of the package
    assert layer_of("edgeconv.runtime.backends.layers") == "edgeconv.runtime"
    assert layer_of("edgeconv.jitter_conv") == "edgeconv"
    assert layer_of("edgeconv.errors") == "errors"


def test_the_rule_itself() -> None:
    assert not allowed("edgeconv.runtime.backends.registry", "edgeconv.models.checkpoints.format")
    assert not allowed("edgeconv.runtime.x", "edgeconv.jitter_conv")
    assert allowed("edgeconv.runtime.x", "edgeconv.errors")
    assert not allowed("edgeconv.erf", "edgeconv.models.checkpoints.format")
    assert not allowed("edgeconv.models.training.sr", "edgeconv.export.deploy.rewrite")
    assert allowed("edgeconv.research.compare", "edgeconv.export.deploy.rewrite")
    assert allowed("edgeconv.research.compare", "edgeconv.models.training.sr")
    assert not allowed("edgeconv.export.pipeline", "edgeconv.research.job")
    assert not allowed("edgeconv.models.training.sr", "edgeconv.research.compare")
    assert allowed("edgeconv.cli.compare", "edgeconv.research.job")
    assert not allowed("edgeconv.research.job", "edgeconv.cli.arguments")
    assert allowed("edgeconv.cli.export", "edgeconv.export.deploy.rewrite")
    assert not allowed("edgeconv.export.x", "edgeconv.cli.arguments")
