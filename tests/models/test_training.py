"""Training: reproducible, resumable, budgeted, and DDP over two CPU processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.training.sr import SRTrainConfig, train_sr


@pytest.fixture(scope="module")
def sr_folders(tmp_path_factory, astronaut: np.ndarray) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sr")
    train, val = root / "train", root / "val"
    train.mkdir()
    val.mkdir()
    Image.fromarray(astronaut[:160, :160]).save(train / "a.png")
    Image.fromarray(astronaut[200:360, 100:300]).save(train / "b.png")
    Image.fromarray(astronaut[300:364, 300:364]).save(val / "c.png")
    return train, val


def config(train: Path, val: Path | None, **kw) -> SRTrainConfig:
    base = dict(model="edge_sr", train_dir=str(train), val_dir=str(val) if val else None, scale=2,
                lr_patch=12, batch_size=4, steps=20, val_every=10, threads=1)
    return SRTrainConfig(**{**base, **kw})


def test_same_seed_gives_the_same_loss_curve(sr_folders, tmp_path: Path) -> None:
    train, val = sr_folders
    a = train_sr(config(train, val), tmp_path / "a.pt")
    b = train_sr(config(train, val), tmp_path / "b.pt")
    c = train_sr(config(train, val, seed=1), tmp_path / "c.pt")
    assert len(a.losses) == 20
    np.testing.assert_allclose(a.losses, b.losses, atol=1e-6, rtol=0)
    assert not np.allclose(a.losses, c.losses)
    assert a.best_psnr is not None and a.best_path == tmp_path / "a.pt"


def test_resume_continues_exactly(sr_folders, tmp_path: Path) -> None:
    train, val = sr_folders
    straight = train_sr(config(train, val), tmp_path / "s.pt")
    stopped = _train_until(train, val, tmp_path / "u.pt", stop_after=10)
    assert stopped == 10
    resumed = train_sr(config(train, val), tmp_path / "u.pt", resume=tmp_path / "u.last.pt")
    assert resumed.steps == 20
    np.testing.assert_allclose(resumed.losses, straight.losses, atol=1e-6, rtol=0)


def _train_until(train: Path, val: Path, out: Path, stop_after: int) -> int:
    class Stop(Exception):
        pass

    def on_step(step: int, loss: float, val_psnr: float | None) -> None:
        if step == stop_after:
            raise Stop

    try:
        train_sr(config(train, val), out, on_step=on_step)
    except Stop:
        pass
    return load_checkpoint(out.with_name(out.stem + ".last.pt")).extra["step"]


def test_minutes_budget_stops_and_saves(sr_folders, tmp_path: Path) -> None:
    train, val = sr_folders
    result = train_sr(config(train, None, steps=10_000, max_minutes=0.02), tmp_path / "m.pt")
    assert result.stopped_by_budget and result.steps < 10_000
    assert load_checkpoint(tmp_path / "m.last.pt").extra["step"] == result.steps


@pytest.mark.slow
def test_ddp_two_cpu_processes_end_with_the_same_weights(sr_folders, tmp_path: Path) -> None:
    train, _ = sr_folders
    script = tmp_path / "ddp_train.py"
    script.write_text(_ddp_script())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}  # gloo's pairs on loopback only
    with socket.socket() as probe:  # a port free now (a fixed one collides with other runs on the machine)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(port), str(script), str(train), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert w0["world"] == 2
    assert w0["weights"].keys() == w1["weights"].keys()
    for k in w0["weights"]:
        torch.testing.assert_close(w0["weights"][k], w1["weights"][k], atol=0, rtol=0)
    assert w0["losses"] != w1["losses"], "both ranks saw the same data: the patch streams are not per rank"
    # only rank 0 wrote checkpoints, and they hold the shared weights
    ckpt = load_checkpoint(tmp_path / "ddp.last.pt")
    for k, v in ckpt.state_dict.items():
        torch.testing.assert_close(v, w0["weights"][k], atol=0, rtol=0)


def _ddp_script() -> str:
    return textwrap.dedent(
        """
        import sys, torch, torch.distributed as dist
        from pathlib import Path
        import edgeconv.models.training.sr as ts
        train, out = sys.argv[1], Path(sys.argv[2])
        cfg = ts.SRTrainConfig(model="edge_sr", train_dir=train, scale=2, lr_patch=12, batch_size=4,
                               steps=6, val_every=3, threads=1)
        models = []
        real_create = ts.create_model
        def spy(*a, **k):
            m = real_create(*a, **k)
            models.append(m)
            return m
        ts.create_model = spy
        result = ts.train_sr(cfg, out / "ddp.pt")
        rank = dist.get_rank()
        weights = {k: v.detach().clone() for k, v in models[0].state_dict().items()}
        torch.save({"world": dist.get_world_size(), "losses": result.losses, "weights": weights},
                   out / f"rank{rank}.pt")
        dist.barrier()
        dist.destroy_process_group()
        """
    )


def test_resume_from_another_models_checkpoint_is_refused(sr_folders, tmp_path: Path) -> None:
    from edgeconv.errors import UsageError

    train, val = sr_folders
    train_sr(config(train, None, steps=2, val_every=2), tmp_path / "e.pt")
    with pytest.raises(UsageError, match=r"e.last.pt \| is a edge_sr checkpoint, not plain_edge_sr"):
        train_sr(config(train, None, model="plain_edge_sr", steps=4), tmp_path / "p.pt", resume=tmp_path / "e.last.pt")


class PillowBicubic(torch.nn.Module):
    """A 'model' that is exactly the bicubic upscale ProtocolGains compares against."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from edgeconv.models.training.sr import bicubic_upscale

        lr = np.rint(x[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        return torch.from_numpy(bicubic_upscale(lr, 2)).permute(2, 0, 1)[None]


def test_protocol_gains_are_zero_for_bicubic_and_pick_photo_models(sr_folders, tmp_path: Path) -> None:
    from edgeconv.models.data.sr import load_hr_folder
    from edgeconv.models.training.sr import ProtocolGains
    from edgeconv.runtime.imaging.degradations import PROTOCOLS

    train, val = sr_folders
    gains = ProtocolGains(load_hr_folder(val, 2, keep_grey=True), 2)
    assert set(gains.baseline) == set(PROTOCOLS)
    assert all(abs(g) < 1e-9 for g in gains.gains(PillowBicubic()).values())
    result = train_sr(config(train, val, degradation="mixed:cubic-aliased=2", select="worst-gain"), tmp_path / "p.pt")
    metrics = load_checkpoint(tmp_path / "p.pt").metrics
    worst = min(metrics[f"last_gain_{p}_db"] for p in PROTOCOLS)
    assert metrics["last_worst_gain_db"] == pytest.approx(worst) and result.best_psnr == metrics["best_worst_gain_db"]
    with pytest.raises(UsageError, match="--select"):
        config(train, val, select="fastest")


def test_soft_content_scores_soft_images_and_init_starts_from_weights(sr_folders, tmp_path: Path) -> None:
    """--soft-content adds 'soft <protocol>' gains to the worst-gain pick; --init starts from a checkpoint's
    weights (fresh optimiser) and refuses another model's."""
    from edgeconv.models.training.sr import SOFT_SCORED

    train, val = sr_folders
    base = train_sr(config(train, val, steps=10, val_every=10), tmp_path / "base.pt")
    assert base.best_path is not None
    tuned = train_sr(config(train, val, steps=10, val_every=10, degradation="mixed", select="worst-gain",
                            soft_content=0.5, init=base.best_path), tmp_path / "tuned.pt")
    metrics = load_checkpoint(tmp_path / "tuned.pt").metrics
    soft = [metrics[f"last_gain_soft {p}_db"] for p in SOFT_SCORED]
    assert metrics["last_worst_gain_db"] <= min(soft) and tuned.best_psnr is not None
    fresh = train_sr(config(train, val, steps=1, val_every=1, lr=0.0), tmp_path / "fresh.pt")
    started = train_sr(config(train, val, steps=1, val_every=1, lr=0.0, init=base.best_path), tmp_path / "st.pt")
    assert fresh.losses != started.losses
    want = load_checkpoint(base.best_path).state_dict
    got = load_checkpoint(tmp_path / "st.pt").state_dict
    assert all(torch.equal(want[k], got[k]) for k in want)  # lr 0: the weights are the init's
    with pytest.raises(UsageError, match=r"base.pt \| is a edge_sr checkpoint, not plain_edge_sr"):
        train_sr(config(train, val, model="plain_edge_sr", steps=1, init=base.best_path), tmp_path / "x.pt")
    with pytest.raises(UsageError, match="--soft-content"):
        config(train, val, soft_content=1.5)
