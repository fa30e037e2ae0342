"""Shift lowerings measured alone and in context, in PyTorch eager, ONNX Runtime and OpenVINO.

Prints one table per input size and writes ``benchmarks/results/shift_ops.json``: median and
p90 latency (ms, 2 threads, >= 50 runs after warm-up) of every case, the ratios the foundation
issue sets targets on, and the lowering chosen per back end for whole blocks (which
``edgeconv.export.deploy.lowering`` reads).

Run: ``make bench`` or ``python benchmarks/shift_ops.py [--runs 50] [--sizes 128 256]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgeconv.export import to_deploy
from edgeconv.export.deploy.lowering import TABLE_PATH
from edgeconv.export.graph.simplify import simplify_onnx
from edgeconv.export.graph.trace import export_onnx
from edgeconv.jitter_conv import JitterConv
from edgeconv.models import create_model
from edgeconv.shift import ShiftBlend, grid_sample_shift
from edgeconv.shiftwise_conv import ShiftwiseConv

THREADS = 2
CHANNELS = 64
RESULTS = Path(__file__).parent / "results" / "shift_ops.json"
BACKENDS = ("pytorch", "onnxruntime", "openvino", "openvino kernels")


# --- the cases -------------------------------------------------------------------------------


class Floor(nn.Module):
    """Elementwise multiply: one read and one write of the tensor, the memory-traffic floor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1.5


class GridShift(nn.Module):
    """The learned shift as ASL's PyTorch ports compute it: GridSample."""

    def __init__(self, shifts: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("shifts", shifts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grid_sample_shift(x, self.shifts)


class Block(nn.Module):
    """1x1 conv -> shift -> 1x1 conv, the context a shift lives in."""

    def __init__(self, shift: nn.Module) -> None:
        super().__init__()
        self.pw1 = nn.Conv2d(CHANNELS, CHANNELS, 1)
        self.shift = shift
        self.pw2 = nn.Conv2d(CHANNELS, CHANNELS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw2(self.shift(torch.relu(self.pw1(x))))


def depthwise(k: int) -> nn.Module:
    return nn.Conv2d(CHANNELS, CHANNELS, k, padding=k // 2, groups=CHANNELS, bias=False)


def shiftwise_large_kernel(kernel_size: int, lowering: str) -> nn.Module:
    """The large-kernel part (strips, no pointwise) of a deployed axis-aligned ShiftwiseConv."""
    sw = ShiftwiseConv(CHANNELS, kernel_size=kernel_size).eval()
    return to_deploy(sw, lowering)[0]


def learned_shifts(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(CHANNELS, 2, generator=gen) * 1.8 - 0.9


def channel_shift(lowering: str) -> nn.Module:
    op = JitterConv(CHANNELS, CHANNELS, mode="channel", max_shift=1)
    return ShiftBlend.fractional(op.shift, lowering)


def sr_model(shift: bool) -> nn.Module:
    torch.manual_seed(0)
    model = create_model("shift_sr", scale=2).eval()
    if not shift:  # the same net with every jitter shift set to zero: the no-shift reference
        for m in model.modules():
            if isinstance(m, JitterConv):
                m.shift.data.zero_()
    return model


def cases() -> dict[str, tuple[str, Callable[[], nn.Module], int]]:
    """name -> (group, factory() -> module, input channels); the lowering is in the name."""
    shifts = learned_shifts()
    return {
        "floor (Mul)": ("alone", lambda: Floor(), CHANNELS),
        "int shift / slice": ("alone", lambda: channel_shift("slice"), CHANNELS),
        "int shift / conv": ("alone", lambda: channel_shift("conv"), CHANNELS),
        "learned shift / slice": ("alone", lambda: ShiftBlend.fractional(shifts, "slice"), CHANNELS),
        "learned shift / conv": ("alone", lambda: ShiftBlend.fractional(shifts, "conv"), CHANNELS),
        "learned shift / GridSample": ("alone", lambda: GridShift(shifts), CHANNELS),
        "depthwise 3x3": ("alone", lambda: depthwise(3), CHANNELS),
        "depthwise 13x13": ("large", lambda: depthwise(13), CHANNELS),
        "ShiftwiseConv 13 / slice": ("large", lambda: shiftwise_large_kernel(13, "slice"), CHANNELS),
        "ShiftwiseConv 13 / conv": ("large", lambda: shiftwise_large_kernel(13, "conv"), CHANNELS),
        "depthwise 31x31": ("large", lambda: depthwise(31), CHANNELS),
        "ShiftwiseConv 31 / slice": ("large", lambda: shiftwise_large_kernel(31, "slice"), CHANNELS),
        "ShiftwiseConv 31 / conv": ("large", lambda: shiftwise_large_kernel(31, "conv"), CHANNELS),
        "block / no shift": ("block", lambda: Block(nn.Identity()), CHANNELS),
        "block / int shift / slice": ("block", lambda: Block(channel_shift("slice")), CHANNELS),
        "block / int shift / conv": ("block", lambda: Block(channel_shift("conv")), CHANNELS),
        "block / learned shift / slice": ("block", lambda: Block(ShiftBlend.fractional(shifts, "slice")), CHANNELS),
        "block / learned shift / conv": ("block", lambda: Block(ShiftBlend.fractional(shifts, "conv")), CHANNELS),
        "block / learned shift / GridSample": ("block", lambda: Block(GridShift(shifts)), CHANNELS),
        "block / depthwise 13x13": ("block", lambda: Block(depthwise(13)), CHANNELS),
        "block / ShiftwiseConv 13 / conv": ("block", lambda: Block(shiftwise_large_kernel(13, "conv")), CHANNELS),
        "block / depthwise 31x31": ("block", lambda: Block(depthwise(31)), CHANNELS),
        "block / ShiftwiseConv 31 / conv": ("block", lambda: Block(shiftwise_large_kernel(31, "conv")), CHANNELS),
        "SR model / no shift": ("model", lambda: to_deploy(sr_model(False), "conv"), 3),
        "SR model / slice": ("model", lambda: to_deploy(sr_model(True), "slice"), 3),
        "SR model / conv": ("model", lambda: to_deploy(sr_model(True), "conv"), 3),
    }


# --- timing ----------------------------------------------------------------------------------


def summarize_samples(samples: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(samples), "p90_ms": float(np.percentile(samples, 90))}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def ort_runner(path: Path, x: np.ndarray) -> Callable[[], object]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"input": x})


def openvino_request(path: Path, x: np.ndarray, perf_count: bool = False):
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    model.reshape({model.inputs[0]: list(x.shape)})
    config = {"INFERENCE_NUM_THREADS": THREADS, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if perf_count:
        config["PERF_COUNT"] = True
    return core.compile_model(model, "CPU", config).create_infer_request()


def openvino_runner(path: Path, x: np.ndarray) -> Callable[[], object]:
    request = openvino_request(path, x)
    return lambda: request.infer({0: x})


def openvino_kernel_runner(path: Path, x: np.ndarray) -> Callable[[], float]:
    """One inference, returning OpenVINO's own node time with Reorders excluded (perf counters).

    A lone op pays a Reorder from OpenVINO's blocked layout back to NCHW that a whole network
    pays once; this column shows what the op itself costs inside a network.
    """
    request = openvino_request(path, x, perf_count=True)

    def run() -> float:
        request.infer({0: x})
        return sum(
            p.real_time.total_seconds() * 1e3
            for p in request.get_profiling_info()
            if p.node_type != "Reorder" and str(p.status).endswith("EXECUTED")
        )

    return run


def measure(size: int, runs: int, workdir: Path, warmup: int = 5) -> dict[str, dict[str, dict[str, float]]]:
    """Time every case on every back end: warm-up, then ``runs`` timed calls, one runner at a time.

    Runners are measured one after another, warm, as a deployed model runs. (Interleaving all
    runners call by call was tried: ONNX Runtime's spinning worker threads and cold caches then
    dominated and every small op looked 3-6x slower.)
    """
    torch.set_num_threads(THREADS)
    results: dict[str, dict] = {}
    for name, (group, factory, channels) in cases().items():
        torch.manual_seed(0)
        module = factory().eval()
        side = size // 2 if group == "model" else size  # SR input: LR side, output is `size`
        x = torch.randn(1, channels, side, side)
        path = workdir / f"{abs(hash(name))}_{size}.onnx"
        proto, _ = simplify_onnx(export_onnx(module, x))
        path.write_bytes(proto.SerializeToString())
        xn = x.numpy()

        def torch_call(m: nn.Module = module, t: torch.Tensor = x) -> object:
            with torch.no_grad():
                return m(t)

        row: dict = {"group": group}
        for backend, fn in (
            ("pytorch", torch_call),
            ("onnxruntime", ort_runner(path, xn)),
            ("openvino", openvino_runner(path, xn)),
        ):
            for _ in range(warmup):
                fn()
            row[backend] = summarize_samples([timed(fn) for _ in range(runs)])
        kernels = openvino_kernel_runner(path, xn)
        for _ in range(warmup):
            kernels()
        row["openvino kernels"] = summarize_samples([kernels() for _ in range(runs)])
        results[name] = row
        print(
            f"  {size:>3}  {name:<36} " + "  ".join(f"{b}: {row[b]['median_ms']:8.2f}" for b in BACKENDS),
            flush=True,
        )
    return results


# --- ratios and the lowering choice -----------------------------------------------------------


def summarize(results: dict[str, dict]) -> dict[str, dict]:
    """Targets of the foundation issue as ratios, per back end, and the chosen lowering."""
    summary: dict[str, dict] = {}
    for backend in ("onnxruntime", "openvino", "openvino kernels"):
        def t(name: str, backend: str = backend) -> float:
            return results[name][backend]["median_ms"]

        block_cost = {
            low: t(f"block / int shift / {low}") + t(f"block / learned shift / {low}") + t(f"SR model / {low}")
            for low in ("slice", "conv")
        }
        chosen = min(block_cost, key=block_cost.get)
        summary[backend] = {
            "chosen_lowering": chosen,
            "whole-block cost by lowering (int block + learned block + SR model, ms)": block_cost,
            "int shift block overhead vs no shift": t(f"block / int shift / {chosen}") / t("block / no shift") - 1,
            "learned shift block overhead vs no shift": t(f"block / learned shift / {chosen}")
            / t("block / no shift")
            - 1,
            "SR model overhead vs no shift": t(f"SR model / {chosen}") / t("SR model / no shift") - 1,
            "int shift alone / floor": t(f"int shift / {chosen}") / t("floor (Mul)"),
            "learned shift alone / floor": t(f"learned shift / {chosen}") / t("floor (Mul)"),
            "GridSample / chosen learned shift": t("learned shift / GridSample") / t(f"learned shift / {chosen}"),
            "in block: depthwise 31 / ShiftwiseConv 31 (added time over the bare block)": (
                t("block / depthwise 31x31") - t("block / no shift")
            )
            / max(t("block / ShiftwiseConv 31 / conv") - t("block / no shift"), 1e-3),
            "in block: ShiftwiseConv 13 / depthwise 13 (added time over the bare block)": (
                t("block / ShiftwiseConv 13 / conv") - t("block / no shift")
            )
            / max(t("block / depthwise 13x13") - t("block / no shift"), 1e-3),
            "depthwise 31 / ShiftwiseConv 31 (best lowering)": t("depthwise 31x31")
            / min(t("ShiftwiseConv 31 / slice"), t("ShiftwiseConv 31 / conv")),
            "ShiftwiseConv 31 (best) / depthwise 13": min(t("ShiftwiseConv 31 / slice"), t("ShiftwiseConv 31 / conv"))
            / t("depthwise 13x13"),
            "ShiftwiseConv 13 (best) / depthwise 13": min(t("ShiftwiseConv 13 / slice"), t("ShiftwiseConv 13 / conv"))
            / t("depthwise 13x13"),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed runs per case (>= 50 for the record)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="H = W of the 1x64xHxW input")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--update-table", action="store_true", help="also write the lowering table export reads")
    args = parser.parse_args()

    record: dict = {
        "machine": _machine(),
        "versions": _versions(),
        "runs": args.runs,
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            print(f"1x{CHANNELS}x{size}x{size} fp32 (SR model: 1x3x{size // 2}x{size // 2} -> x2), median ms")
            results = measure(size, args.runs, Path(tmp))
            record["sizes"][str(size)] = {"cases": results, "summary": summarize(results)}
    _print_summary(record)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"wrote {args.out}")
    if args.update_table:
        table = _lowering_table(record)
        TABLE_PATH.write_text(json.dumps(table, indent=2) + "\n")
        print(f"wrote {TABLE_PATH}: {table['lowering']}")


def _lowering_table(record: dict) -> dict:
    votes: dict[str, list[str]] = {}
    for size in record["sizes"].values():
        for backend in ("onnxruntime", "openvino"):  # chosen on wall-clock time
            votes.setdefault(backend, []).append(size["summary"][backend]["chosen_lowering"])
    return {
        "source": "benchmarks/shift_ops.py --update-table",
        "machine": record["machine"],
        "lowering": {b: max(set(v), key=v.count) for b, v in votes.items()},
    }


def _print_summary(record: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    for size, data in record["sizes"].items():
        table = Table(title=f"Targets at {size}x{size}")
        table.add_column("ratio")
        for backend in data["summary"]:
            table.add_column(backend)
        keys = [k for k in next(iter(data["summary"].values())) if not k.startswith("whole-block")]
        for key in keys:
            cells = []
            for s in data["summary"].values():
                v = s[key]
                cells.append(v if isinstance(v, str) else f"{v:+.1%}" if "overhead" in key else f"{v:.2f}x")
            table.add_row(key, *cells)
        Console().print(table)


def _machine() -> dict[str, object]:
    """The CPU these numbers are a fact about (``machine_record``) and the threads."""
    from edgeconv.runtime.profiling.device_facts import machine_record

    return {**machine_record(), "threads": THREADS}


def _versions() -> dict[str, str]:
    import onnxruntime
    import openvino

    return {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "openvino": openvino.__version__}


if __name__ == "__main__":
    main()
