"""``edgeconv validate`` and ``edgeconv doctor``: accuracy + latency on every back end; what runs here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import parse_hw, refuse_overwrite
from edgeconv.errors import UsageError


def torch_reference(checkpoint: Path):  # noqa: ANN201 - returns a Run
    """The PyTorch checkpoint as a numpy function, or None when torch is not installed here."""
    try:
        import torch
    except ImportError:
        return None
    from edgeconv.models.checkpoint import load_checkpoint

    model = load_checkpoint(checkpoint).build_model(checkpoint)

    def run(x):  # noqa: ANN001, ANN202
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    return run


def validate(
    models: Annotated[list[Path], typer.Argument(help="ONNX models to validate (FP32, FP16, INT8 ...).")],
    backend: Annotated[list[str], typer.Option(help="Back end(s): onnxruntime, openvino, tensorrt, or all.")] = ["all"],  # noqa: B006
    images: Annotated[Path | None, typer.Option(help="Folder of real images (HR for SR). Default: Set5.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="PyTorch checkpoint as the reference (needs torch).")] = None,
    reference: Annotated[Path | None, typer.Option(help="FP32 ONNX reference (default: the first FP32 model).")] = None,
    threads: Annotated[int, typer.Option(help="Inference threads per back end.")] = 2,
    runs: Annotated[int, typer.Option(help="Timed runs per model and back end.")] = 30,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up runs.")] = 5,
    latency_size: Annotated[str, typer.Option(help="HxW input for latency.")] = "360x640",
    atol: Annotated[float | None, typer.Option(help="Gate: max abs error vs the reference.")] = None,
    max_psnr_drop: Annotated[float | None, typer.Option(help="Gate: dB of PSNR-Y below the reference.")] = None,
    max_latency_ms: Annotated[float | None, typer.Option(help="Gate: p50 latency in ms.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON.")] = None,
    report: Annotated[Path | None, typer.Option(help="Folder for a Markdown report with PNG plots.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing report files.")] = False,
) -> None:
    """Run models on back ends with the same inputs; compare with one reference; time; apply gates.

    Exit code 1 when a gate fails. Catches the INT8 model that runs but is broken: its PSNR-Y
    against the HR images drops.

    Example: edgeconv validate out/sr.onnx out/sr.int8.onnx --images Set5 --max-psnr-drop 0.1 --report out/val
    """
    from rich.console import Console
    from rich.markup import escape

    from edgeconv.errors import BackendRefusal, EdgeConvError
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.registry import backend_status, create_backend
    from edgeconv.runtime.validation.report import rich_table, write_json, write_markdown
    from edgeconv.runtime.validation.sr_eval import shared_sr_data
    from edgeconv.runtime.validation.validator import Gates, validation_inputs
    from edgeconv.runtime.validation.validator import validate as run_validation

    if runs < 1 or warmup < 0:
        raise UsageError("--runs", "runs must be >= 1 and warm-up >= 0")
    latency_hw = parse_hw(latency_size, "--latency-size")  # arguments first, before any model loads
    refuse_overwrite(json_out, force)
    if report is not None and (report / "report.md").exists() and not force:
        raise UsageError(str(report / "report.md"), "already exists", "pass --force to overwrite it")
    names = [b for b in backend if b != "all"]
    if "all" in backend:
        names = [name for name, usable, _ in backend_status() if usable]
    options = BackendOptions(threads=threads)
    runners = []
    for m in models:
        for name in names:
            try:
                runners.append(create_backend(name, m, options))
            except BackendRefusal as exc:
                if "all" not in backend:
                    raise
                Console(stderr=True).print(f"skipped: {escape(exc.one_line())}", highlight=False)
    facts = runners[0].facts
    if images is None:
        shared = shared_sr_data()
        if shared is None or not (shared / "Set5").is_dir():
            raise UsageError("--images", "no folder given and no Set5 beside the checkout", "pass --images DIR")
        images = shared / "Set5"
    data = validation_inputs(images, facts)
    ref_run, ref_name = None, ""
    if checkpoint is not None:
        ref_run, ref_name = torch_reference(checkpoint), f"PyTorch {checkpoint.name}"
        if ref_run is None:
            Console(stderr=True).print("torch is not installed here: using the FP32 ONNX model as the reference")
    if ref_run is None:
        ref_path = reference or next((r.path for r in runners if r.facts.precision == "fp32"), None)
        if ref_path is None:
            raise UsageError("reference", "none of the models is FP32", "pass --reference model.onnx or --checkpoint")
        ref_runner = create_backend("onnxruntime", ref_path, options)
        ref_run, ref_name = ref_runner.run, f"{ref_path.name} (FP32, onnxruntime)"
    console = Console(width=max(130, Console().width))  # a 12-column table: wide even in pipes
    with Console(stderr=True).status("validating ..."):
        result = run_validation(runners, data, ref_run, ref_name, Gates(atol, max_psnr_drop, max_latency_ms),
                                latency_hw, runs, warmup)
    console.print(rich_table(result))
    if json_out is not None:
        write_json(result, json_out)
    if report is not None:
        console.print(f"report: {write_markdown(result, report)}")
    if not result:
        failed = next(r for r in result.rows if r.failures)
        raise EdgeConvError(f"{failed.model} on {failed.backend}", failed.failures[0], "see the table above")


def doctor() -> None:
    """List the back ends and devices usable here, and why the others are not.

    Example: edgeconv doctor
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from edgeconv.runtime.backends.registry import backend_status
    from edgeconv.runtime.cpu.int8_targets import native_target
    from edgeconv.runtime.profiling.device_facts import describe_machine

    table = Table(title="edgeconv doctor")
    for col in ("back end", "usable", "details"):
        table.add_column(col)
    for name, usable, why in backend_status():
        table.add_row(name, "yes" if usable else "no", escape(why))
    try:
        import torch

        table.add_row("torch (export, train)", "yes", torch.__version__)
    except ImportError:
        table.add_row("torch (export, train)", "no",
                      escape("runtime-only install; pip install 'edgeconv[export]' to export"))
    machine = describe_machine()
    table.add_row("machine", machine.arch, escape(machine.summary))
    target, why = native_target()
    table.add_row("CPU INT8", target, escape(f"{why}; quantize picks its scheme for this target by default"))
    Console().print(table)
