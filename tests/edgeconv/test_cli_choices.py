"""Closed option sets are enums (issue 25): ``--help`` lists the choices, and typer refuses a typo naming them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeconv.cli.app import app
from edgeconv.runtime.choices import (
    BackendChoice,
    BackendName,
    ConvVariant,
    DegradationProtocol,
    InferenceDevice,
    InferencePrecision,
    Lowering,
)
from tests.bad_inputs.test_catalogue import assert_refused_choice
from tests.conftest import run_cli

CLI = Path(__file__).resolve().parents[2] / "edgeconv" / "cli"


def help_text(*command: str) -> str:
    """``edgeconv COMMAND --help`` on a terminal wide enough that no choice list wraps."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    return result.output


def listed_type(text: str, option: str) -> str:
    """The metavar ``a|b|c`` that ``--help`` shows for ``option`` (plain, as every metavar: no ``<list[...]>``), its
    folded rows joined (a long list wraps inside its column)."""
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.lstrip("\u2502 ").startswith(f"{option} "))
    word = next(w for w in lines[row].split() if "|" in w and w != "\u2502")
    start, end = lines[row].index(word), lines[row].index(word) + len(word)
    joined = word
    for line in lines[row + 1:]:
        cell = line[start:end].strip()
        if not cell or line[:start].strip("\u2502 "):  # the column ends, or the next option's row begins
            break
        joined += cell
    return joined


@pytest.mark.parametrize(("command", "option", "choices"), [
    (("upscale",), "--backend", BackendName.values()),
    (("upscale",), "--device", [d.lower() for d in InferenceDevice.values()]),  # case-insensitive: listed lower
    (("upscale",), "--precision", InferencePrecision.values()),
    (("validate",), "--backend", BackendChoice.values()),
    (("validate",), "--degradation", DegradationProtocol.values()),
    (("profile", "run"), "--backend", BackendChoice.values()),
    (("erf",), "--backend", BackendName.values()),
    (("export",), "--backend", BackendName.values()),
    (("export",), "--lowering", Lowering.values()),
    (("tune",), "--backend", BackendName.values()),
    (("train", "cls"), "--variant", ConvVariant.values()),
])
def test_help_lists_the_choices(command: tuple[str, ...], option: str, choices: tuple[str, ...]) -> None:
    listed = listed_type(help_text(*command), option)
    assert listed == "|".join(choices), listed


@pytest.mark.parametrize(("args", "option", "value", "choices"), [
    (["upscale", "IMAGE", "--backend", "onnxrt"], "--backend", "onnxrt", BackendName.values()),
    (["upscale", "IMAGE", "--precision", "fp8"], "--precision", "fp8", InferencePrecision.values()),
    (["validate", "MODEL", "--backend", "openvino", "--backend", "onnx"], "--backend", "onnx",
     BackendChoice.values()),
    (["profile", "MODEL", "--backend", "al"], "--backend", "al", BackendChoice.values()),
    (["export", "MODEL", "--lowering", "gather"], "--lowering", "gather", Lowering.values()),
])
def test_a_typo_is_refused_with_exit_code_2_naming_the_choices(args: list[str], option: str, value: str,
                                                               choices: tuple[str, ...], tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"")  # never read: the option is refused first
    names = {"IMAGE": str(image), "MODEL": str(tmp_path / "m.onnx")}
    result = run_cli(*[names.get(a, a) for a in args])
    assert_refused_choice(result, option, value, choices, tmp_path / "a_x2.png")


def test_choices_match_the_libraries_that_take_them() -> None:
    """The CLI's enums list what the exporter and the ResNet take (they live in torch modules the CLI must not
    import at start-up)."""
    from edgeconv.export.graph.from_checkpoint import LOWERINGS
    from edgeconv.models.nets.resnet_cifar import CONV_VARIANTS

    assert Lowering.values() == LOWERINGS and ConvVariant.values() == CONV_VARIANTS


def test_settings_are_built_by_keyword_never_from_locals() -> None:
    """Every ``...Settings(...)`` / ``...Config(...)`` call in the CLI (quantize aside: another job) names its
    arguments, and no command hands ``locals()`` on."""
    for path in sorted(CLI.glob("*.py")):
        if path.name == "quantize.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            assert name != "locals", f"{path.name}:{node.lineno} passes locals()"
            if name.endswith(("Settings", "Config", "Gates")) or name == "parse":
                assert not node.args, f"{path.name}:{node.lineno} builds {name} by position"
