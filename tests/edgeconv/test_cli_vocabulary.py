"""One vocabulary across the commands (issue 26): the same option name for the same idea in every command, the old
names kept as hidden aliases that say what they are now, ``--backend`` repeatable or comma-separated, help that
reads as prose with plain metavars, and one exit code per kind of error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from edgeconv.cli.app import app
from edgeconv.cli.arguments import Renamed
from edgeconv.cli.help_text import prose
from edgeconv.runtime.choices import BackendChoice
from tests.bad_inputs.test_catalogue import assert_clean_failure, assert_refused_choice
from tests.conftest import run_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "CLI_OPTIONS.md"
ROOT = typer.main.get_command(app)
# names that the vocabulary retired (each still taken, hidden, by the commands that had it)
RETIRED = {"--output", "--latency-size", "--sizes", "--input-size", "--check-images", "--target-backend"}


def leaf_commands(group=ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:  # noqa: ANN001
    """Every command under the root with its path (``("profile", "run")``), groups walked."""
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if getattr(command, "commands", None):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = dict(leaf_commands())
RENAMES = [(path, old, new) for path, command in COMMANDS.items() if isinstance(command, Renamed)
           for old, new in command.renamed.items()]


def option(command, name: str):  # noqa: ANN001, ANN201 - click objects
    return next(p for p in command.params if name in getattr(p, "opts", ()))


def sample_args(command, name: str) -> list[str]:  # noqa: ANN001
    """The command's required arguments (any text), then ``name`` with a value its option parses."""
    metavar = option(command, name).metavar or ""
    value = metavar.split("|")[0] if "|" in metavar else {"N": "32", "HxW": "16x16"}.get(metavar, "x.png")
    required = ["x.onnx" for p in command.params if p.param_type_name == "argument" and p.required]
    return [*required, name, value]


def parse(path: tuple[str, ...], args: list[str]) -> dict:
    """The parameters the command would be called with (parsed, nothing run)."""
    return COMMANDS[path].make_context(path[-1], list(args)).params


def test_every_command_with_a_renamed_option_is_covered() -> None:
    assert {p for p, _, _ in RENAMES} == {("erf",), ("export",), ("info",), ("pipeline",), ("profile", "run"),
                                         ("quantize",), ("upscale",), ("validate",)}


@pytest.mark.parametrize(("path", "old", "new"), RENAMES, ids=[f"{' '.join(p)} {o}" for p, o, _ in RENAMES])
def test_old_name_still_works_and_says_the_new_one(path: tuple[str, ...], old: str, new: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    args = sample_args(COMMANDS[path], new)
    with_new = parse(path, args)
    assert capsys.readouterr().err == ""
    with_old = parse(path, [old if a == new else a for a in args])
    assert with_old == with_new  # the same parameter, the same value
    assert capsys.readouterr().err == f"{old} is now {new}\n"
    assert not any(old in p.opts for p in COMMANDS[path].params if hasattr(p, "opts")), "an old name in --help"


def test_old_name_on_the_real_command_line(default_onnx: Path) -> None:
    """``--latency-size`` reaches ``--size``: its value is checked under the new name, after the one-line note."""
    result = run_cli("validate", str(default_onnx), "--latency-size", "0x640")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "--latency-size is now --size"
    assert "error: --size | '0x640' has an empty side" in result.stderr


@pytest.mark.parametrize(("path", "old", "new"), RENAMES, ids=[f"{' '.join(p)} {o}" for p, o, _ in RENAMES])
def test_the_note_lists_every_rename(path: tuple[str, ...], old: str, new: str) -> None:
    """docs/CLI_OPTIONS.md has a row ``old | new`` under the command's heading."""
    text = DOC.read_text()
    heading = f"### `edgeconv {' '.join(path)}`"
    assert heading in text, heading
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    rows = [re.split(r"(?<!\\)\|", line) for line in section.splitlines() if line.startswith("|")]
    assert any(has_option(cells[1], old) and has_option(cells[2], new) for cells in rows if len(cells) > 3), (old, new)


def has_option(cell: str, name: str) -> bool:
    """``name`` as a whole option in a table cell (``--size`` is not in ``--sizes``)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", cell) is not None


@pytest.mark.parametrize("path", list(COMMANDS), ids=[" ".join(p) for p in COMMANDS])
def test_one_name_per_idea(path: tuple[str, ...]) -> None:
    names = {name: p for p in COMMANDS[path].params for name in getattr(p, "opts", ())}
    assert not RETIRED & names.keys(), RETIRED & names.keys()
    if "-o" in names:
        assert "--out" in names["-o"].opts, names["-o"].opts  # -o is always --out: the main output
    if "--size" in names:
        assert "HxW" in names["--size"].metavar  # a size is HxW everywhere
    if "--target" in names:
        assert path == ("quantize",)  # the INT8 target; erf's feature selector is --erf-of
    if "--val" in names:
        assert path[0] == "train"  # train's --data / --val pair; elsewhere images scored on are --images
    if path in (("validate",), ("erf",), ("upscale",)):
        assert "--device" in names  # wherever a back end runs on a device of the user's choice


@pytest.mark.parametrize("path", [("validate",), ("profile", "run")], ids=["validate", "profile"])
def test_backend_repeatable_or_comma_separated(path: tuple[str, ...]) -> None:
    chosen = parse(path, ["x.onnx", "--backend", "onnxruntime,OpenVINO", "--backend", "onnxruntime"])["backend"]
    assert chosen == [BackendChoice.ONNXRUNTIME, BackendChoice.OPENVINO]  # in order, each once
    assert parse(path, ["x.onnx"])["backend"] == [BackendChoice.ALL]
    assert "|".join(BackendChoice.values()) == option(COMMANDS[path], "--backend").metavar  # all listed


def test_a_bad_name_in_a_comma_list_is_refused_naming_the_choices(tmp_path: Path) -> None:
    result = run_cli("profile", str(tmp_path / "m.onnx"), "--backend", "onnxruntime,tflite")
    assert_refused_choice(result, "--backend", "tflite", BackendChoice.values())


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=["edgeconv", *(" ".join(p) for p in COMMANDS)])
def test_help_has_plain_metavars(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(bool|int|float|str|path|list\[)", result.output), result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage


def test_help_reads_as_prose() -> None:
    """A docstring's source line ends are not the help's: a sentence wrapped in the source is one line."""
    result = CliRunner().invoke(app, ["validate", "--help"], env={"COLUMNS": "300"})
    assert "Catches the INT8 model that runs but is broken: its PSNR-Y against the HR images drops." in result.output
    quantize = CliRunner().invoke(app, ["quantize", "--help"], env={"COLUMNS": "300"}).output
    example = next(line for line in quantize.splitlines() if "--max-psnr-drop 0.1 -o out/sr.int8.onnx" in line)
    assert "Example: edgeconv quantize out/sr.onnx --calib ../shared/data/sr/T91" in example  # wrapped in source


def test_prose_joins_lines_and_keeps_examples_apart() -> None:
    text = "First line\n    goes on.\n\n    Second\n    paragraph.\n\n    Example: a\n    b\n    Example: c"
    assert prose(text) == "First line goes on.\n\nSecond paragraph.\n\nExample: a b\nExample: c"


@pytest.mark.parametrize("args", [
    ["info", "MISSING.pt"], ["export", "MISSING.pt"], ["tune", "MISSING.pt"], ["pipeline", "MISSING.pt"],
    ["validate", "MISSING.onnx"], ["profile", "MISSING.onnx"], ["erf", "MISSING.onnx"],
    ["quantize", "MISSING.onnx", "--calib", "."], ["upscale", "MISSING.png"],
], ids=lambda a: a[0])
def test_a_missing_input_file_is_a_usage_error_in_every_command(args: list[str], tmp_path: Path) -> None:
    """The same kind of error, the same exit code: a missing or unreadable input exits 2 everywhere."""
    missing = [str(tmp_path / a) if a.startswith("MISSING") else a for a in args]
    assert_clean_failure(run_cli(*missing, cwd=tmp_path), 2, re.escape(str(tmp_path / "MISSING")), None)
