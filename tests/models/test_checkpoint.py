"""Checkpoint round trip and every way a checkpoint file can be bad."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from edgeconv.models import create_model
from edgeconv.models.checkpoints.format import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint


def make_checkpoint(tmp_path: Path, name: str = "edge_sr", **config) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = create_model(name, **config).eval()
    for p in model.parameters():  # not the init values: a real round trip
        p.data.add_(torch.randn_like(p) * 0.01)
    ckpt = Checkpoint(name, {"scale": 2, **config}, "sr", model.state_dict(), scale=2, metrics={"psnr_y": 36.0})
    path = save_checkpoint(ckpt, tmp_path / "model.pt")
    return path, model


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    path, model = make_checkpoint(tmp_path)
    loaded = load_checkpoint(path)
    assert (loaded.model_name, loaded.task, loaded.scale) == ("edge_sr", "sr", 2)
    assert loaded.metrics == {"psnr_y": 36.0}
    rebuilt = loaded.build_model(path)
    x = torch.rand(1, 3, 13, 17)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))


def write_bad(tmp_path: Path, kind: str) -> Path:
    path, _ = make_checkpoint(tmp_path)
    raw = torch.load(path, weights_only=True)
    bad = tmp_path / f"{kind}.pt"
    if kind == "empty":
        bad.write_bytes(b"")
    elif kind == "truncated":
        bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind.startswith("random"):
        bad.write_bytes(os.urandom(4096))
    elif kind == "missing_key":
        raw["state_dict"].pop(next(iter(raw["state_dict"])))
        torch.save(raw, bad)
    elif kind == "extra_key":
        raw["state_dict"]["body.9.weight"] = torch.zeros(1)
        torch.save(raw, bad)
    elif kind == "wrong_shape":
        key = next(k for k, v in raw["state_dict"].items() if v.ndim == 4)
        raw["state_dict"][key] = torch.zeros(1, 1, 1, 1)
        torch.save(raw, bad)
    elif kind == "other_architecture":
        raw["model"] = "fsrcnn"
        torch.save(raw, bad)
    elif kind == "unknown_model":
        raw["model"] = "resnet9000"
        torch.save(raw, bad)
    elif kind == "plain_state_dict":
        torch.save(raw["state_dict"], bad)
    elif kind == "code_pickle":
        bad.write_bytes(pickle.dumps(RunsCode(tmp_path / "pwned"), protocol=2))
    elif kind == "code_pickle_v4":
        bad.write_bytes(pickle.dumps(RunsCode(tmp_path / "pwned"), protocol=4))
    return bad


class RunsCode:
    """A pickle payload that would create a file if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


BAD = {
    "empty": r"is empty",
    "truncated": r"is not a readable PyTorch checkpoint \(truncated or corrupt\)",
    "random": r"(is not a readable PyTorch checkpoint|refused by the weights-only loader)",
    "missing_key": r"missing 1 weight\(s\), first '",
    "extra_key": r"has 1 unexpected weight\(s\), first 'body.9.weight'",
    "wrong_shape": r"has shape \(1, 1, 1, 1\), the model expects",
    "other_architecture": r"missing \d+ weight\(s\)",
    "unknown_model": r"names model 'resnet9000': is not a registered model",
    "plain_state_dict": r"is a PyTorch file but not an edgeconv checkpoint",
    "code_pickle": r"refused: it holds pickled objects that could run code.*GLOBAL io.open",
    "code_pickle_v4": r"refused by the weights-only loader",
}


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("attempt", range(3))
def test_bad_checkpoint_gets_one_clear_error(tmp_path: Path, kind: str, attempt: int) -> None:
    bad = write_bad(tmp_path, kind)
    with pytest.raises(CheckpointError, match=BAD[kind]) as info:
        load_checkpoint(bad).build_model(bad)
    assert str(bad) in str(info.value)
    assert not (tmp_path / "pwned").exists(), "unpickling ran code"


@pytest.mark.parametrize("kind", ["truncated", "code_pickle", "wrong_shape", "missing_key"])
def test_cli_exits_nonzero_with_one_line_and_no_traceback(tmp_path: Path, kind: str) -> None:
    bad = write_bad(tmp_path, kind)
    result = subprocess.run(
        [sys.executable, "-m", "edgeconv.cli.app", "info", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2  # a bad input file: a usage error, as in every command
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad} | ")
    assert not (tmp_path / "pwned").exists()


def test_cli_info_prints_the_facts(tmp_path: Path) -> None:
    path, _ = make_checkpoint(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "edgeconv.cli.app", "info", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "edge_sr" in result.stdout and "per input pixel" in result.stdout
