"""Super-resolution training: seeded, deterministic, resumable, budgeted, DDP under torchrun.

One process trains on one device. Under ``torchrun --nproc_per_node N`` each process joins a
process group (gloo on CPU, NCCL on CUDA), draws its own patch stream (seed + rank), and DDP
averages gradients, so every rank holds the same weights; only rank 0 validates and writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models.checkpoints.format import Checkpoint, load_checkpoint
from edgeconv.models.data.sr import PatchSampler, SRPair, load_sr_dataset, to_tensor
from edgeconv.models.nets.luma_sr import rgb_to_luma
from edgeconv.models.nets.registry import create_model
from edgeconv.models.training.loop import LoopHooks, StepCallback, last_path_for, start_run, train_loop
from edgeconv.runtime.imaging.degradations import PROTOCOLS, degrade, scored_protocols, soften
from edgeconv.runtime.validation.sr_metrics import score_sr

SOFT_SIGMA = 1.0  # the soft validation images: HR blurred by this Gaussian (training draws 0.5-1.5)
SOFT_SCORED = ("bicubic", "cubic-aliased")  # the protocols scored on them


@dataclass
class SRTrainConfig:
    """Everything that decides an SR training run (stored in the checkpoint's ``train_args``)."""

    model: str = "edge_sr"
    model_config: dict = field(default_factory=dict)
    train_dir: str = ""
    val_dir: str | None = None
    scale: int = 2
    lr_patch: int = 32
    batch_size: int = 16
    steps: int = 20000
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    max_minutes: float | None = None
    val_every: int = 1000
    device: str = "cpu"
    threads: int | None = None
    loss_on: str = "y"  # "y": L1 on BT.601 luma (what PSNR-Y scores), "rgb": L1 on RGB
    degradation: str = "bicubic"  # how training LR patches are made (edgeconv.runtime.imaging.degradations)
    select: str = "psnr"  # best step by "psnr" (PSNR-Y, bicubic LR) or "worst-gain" (over bicubic, every protocol)
    soft_content: float = 0.0  # share of patches with a soft (blurred) HR; > 0 also scores soft validation images
    init: str | None = None  # start from this checkpoint's weights (same model; fresh optimiser and schedule)

    def __post_init__(self) -> None:
        self.init = str(self.init) if self.init is not None else None  # plain text in the checkpoint
        self.check()

    @property
    def score_name(self) -> str:
        """What picks the best step: ``PSNR-Y`` or ``worst gain`` (over bicubic upscaling, every protocol)."""
        return "worst gain" if self.select == "worst-gain" else "PSNR-Y"

    def check(self) -> None:
        """Refuse a scale or loss the trainer does not offer (``UsageError`` naming the option), on construction."""
        if self.scale not in (2, 3, 4):
            raise UsageError("--scale", f"must be 2, 3 or 4, got {self.scale}")
        if self.loss_on not in ("y", "rgb"):
            raise UsageError("--loss-on", f"must be 'y' or 'rgb', got {self.loss_on!r}")
        if self.select not in ("psnr", "worst-gain"):
            raise UsageError("--select", f"must be 'psnr' or 'worst-gain', got {self.select!r}")
        if not 0.0 <= self.soft_content <= 1.0:
            raise UsageError("--soft-content", f"must be in 0..1, got {self.soft_content}")


@dataclass
class TrainResult:
    """Where training ended and what it measured."""

    steps: int
    losses: list[float]
    best_psnr: float | None
    best_path: Path | None
    last_path: Path | None
    minutes: float
    stopped_by_budget: bool


@torch.no_grad()
def evaluate_sr(model: nn.Module, pairs: list[SRPair], scale: int, device: str = "cpu") -> dict[str, float]:
    """Mean PSNR-Y / SSIM-Y over whole images; output clipped and rounded to 8 bits, as saved."""
    model.eval()
    scores = []
    for pair in pairs:
        lr = pair.lr if pair.lr.ndim == 3 else np.repeat(pair.lr[..., None], 3, axis=2)
        out = model(to_tensor(lr)[None].to(device))[0]
        scores.append(score_sr(out.permute(1, 2, 0).cpu().numpy(), pair.hr, scale))
    return {"psnr_y": float(np.mean([s[0] for s in scores])), "ssim_y": float(np.mean([s[1] for s in scores]))}


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """Pillow bicubic upscale of a uint8 LR image, as float RGB in [0, 1] (the floor an SR model must beat)."""
    h, w = lr.shape[:2]
    up = np.asarray(Image.fromarray(lr).resize((w * scale, h * scale), Image.BICUBIC), np.float32) / 255.0
    return up if up.ndim == 3 else np.repeat(up[..., None], 3, axis=2)


class ProtocolGains:
    """The PSNR-Y gain over bicubic upscaling under every degradation protocol, on fixed validation images.

    The LR images and the bicubic baseline are made once; ``worst(model)`` is what a photo model is picked
    by: the gain a user can count on when they do not know how their image was made.
    """

    def __init__(self, pairs: list[SRPair], scale: int, protocols: tuple[str, ...] = PROTOCOLS,
                 soft: tuple[str, ...] = ()) -> None:
        """``soft``: protocols also scored on soft versions of the images (HR blurred, sigma 1: ``soft <name>``)."""
        self.scale = scale
        self.sets: dict[str, list[SRPair]] = {}
        self.baseline: dict[str, float] = {}
        softened = [SRPair(p.name, soften(p.hr, SOFT_SIGMA), p.lr) for p in pairs] if soft else []
        for name, protocol, images in [(p, p, pairs) for p in protocols] + [(f"soft {p}", p, softened) for p in soft]:
            lrs = [SRPair(p.name, p.hr, degrade(p.hr, scale, protocol)) for p in images]
            self.sets[name] = lrs
            self.baseline[name] = float(np.mean([score_sr(bicubic_upscale(q.lr, scale), q.hr, scale)[0]
                                                     for q in lrs]))

    def gains(self, model: nn.Module, device: str = "cpu") -> dict[str, float]:
        """Protocol -> mean PSNR-Y of ``model`` minus that of bicubic upscaling (dB)."""
        return {p: evaluate_sr(model, q, self.scale, device)["psnr_y"] - self.baseline[p] for p, q in self.sets.items()}


def init_weights(model: nn.Module, path: Path, model_name: str) -> None:
    """Load ``path``'s weights into ``model`` (fine-tuning start); another model or shape is one ``UsageError``."""
    state = load_checkpoint(path)
    if state.model_name != model_name:
        raise UsageError(str(path), f"is a {state.model_name} checkpoint, not {model_name}",
                         "--init takes a checkpoint of the same model")
    try:
        model.load_state_dict(state.state_dict)
    except RuntimeError as exc:
        raise UsageError(str(path), "has other layer shapes than --model-config gives",
                         str(exc).splitlines()[1].strip() if "\n" in str(exc) else "") from None


def train_sr(
    config: SRTrainConfig,
    out: Path,
    resume: Path | None = None,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train ``config.model``; write ``out`` (best by validation PSNR-Y) and ``out``.last.pt.

    Args:
        config: the run's settings.
        out: best checkpoint path; the resumable state goes to ``<out stem>.last.pt``.
        resume: a ``.last.pt`` (or any) checkpoint of the same model to continue from.
        on_step: called with (step, loss, latest val PSNR) for progress display.
    """
    config.check()
    rank, _, generator = start_run(config)
    device = config.device
    train_pairs = load_sr_dataset(config.train_dir, config.scale)
    val_pairs = load_sr_dataset(config.val_dir, config.scale, keep_grey=True) if config.val_dir else []
    model_config = {"scale": config.scale, **config.model_config}
    model = create_model(config.model, **model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.init and resume is None:
        init_weights(model, Path(config.init), config.model)
    sampler = PatchSampler(train_pairs, config.scale, config.lr_patch, generator, config.degradation,
                           config.soft_content)

    def batch_loss(train_model: nn.Module) -> torch.Tensor:
        lr_batch, hr_batch = sampler.batch(config.batch_size)
        pred, target = train_model(lr_batch.to(device)), hr_batch.to(device)
        if config.loss_on == "y":
            pred, target = rgb_to_luma(pred), rgb_to_luma(target)
        return F.l1_loss(pred, target)

    soft = SOFT_SCORED if config.soft_content > 0 else ()
    gains = ProtocolGains(val_pairs, config.scale, scored_protocols(config.degradation), soft) \
        if val_pairs and config.select == "worst-gain" else None

    def validate() -> tuple[float | None, dict]:
        metrics = evaluate_sr(model, val_pairs, config.scale, device) if val_pairs else {}
        if gains is None:
            return metrics.get("psnr_y"), metrics
        by_protocol = gains.gains(model, device)
        metrics |= {f"gain_{p}_db": g for p, g in by_protocol.items()} | {"worst_gain_db": min(by_protocol.values())}
        return metrics["worst_gain_db"], metrics

    def checkpoint(step: int, score: float | None, metrics: dict, best: float | None) -> Checkpoint:
        return Checkpoint(
            model_name=config.model, config=model_config, task="sr", scale=config.scale,
            state_dict=model.state_dict(), train_args=asdict(config),
            metrics={**{f"last_{k}": v for k, v in metrics.items()}, best_metric: best, "step": step},
        )

    best_metric = "best_worst_gain_db" if gains is not None else "best_psnr_y"
    hooks = LoopHooks(batch_loss, validate, checkpoint, best_metric=best_metric)
    loop = train_loop(config, model, optimizer, generator, hooks, out, resume, on_step)
    return TrainResult(loop.steps, loop.losses, loop.best, out if loop.best_saved else None,
                       last_path_for(out) if rank == 0 else None, loop.minutes, loop.stopped_by_budget)
