"""``edgeconv profile MODEL...`` and ``edgeconv profile compare A.json B.json ...`` (runtime only, no torch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import parse_hw, refuse_overwrite
from edgeconv.errors import UsageError


def profile(
    targets: Annotated[list[str], typer.Argument(help="ONNX models; or `compare` followed by profile JSON files.")],
    backend: Annotated[list[str], typer.Option(help="Back end(s): onnxruntime, openvino, tensorrt, or all.")] = ["all"],  # noqa: B006
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts to sweep.")] = "1,2",
    sizes: Annotated[str, typer.Option(help="Comma-separated HxW inputs to sweep.")] = "180x320,360x640,720x1280",
    runs: Annotated[int, typer.Option(help="Timed runs per cell (ignored with --duration).")] = 30,
    duration: Annotated[float | None, typer.Option(help="Seconds per cell instead of a run count.")] = None,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up runs per cell.")] = 5,
    layers: Annotated[bool, typer.Option(help="Per-layer breakdown (ORT profiler, OpenVINO counters).")] = True,
    sustained: Annotated[float | None, typer.Option(help="Also record latency over this many seconds.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the profile JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG (needs the plot extra).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
) -> None:
    """Profile latency on this device: back ends x precisions x threads x sizes, per-layer times, device state.

    Examples: edgeconv profile out/sr.onnx out/sr.int8.onnx -o pi5.json --plot pi5.png;
    edgeconv profile compare pi5.json jetson.json laptop.json --plot devices.png
    """
    from rich.console import Console
    from rich.table import Table

    from edgeconv.runtime.atomic_write import write_bytes_atomic
    from edgeconv.runtime.backends.registry import backend_status
    from edgeconv.runtime.profiling.profiler import compare_rows, fmt, load_profile, plot_profiles, run_profile

    refuse_overwrite(output, force)
    refuse_overwrite(plot, force)
    console = Console(width=max(120, Console().width))
    if targets[0] == "compare":
        paths = [Path(t) for t in targets[1:]]
        if not paths:
            raise UsageError("profile compare", "needs at least one profile JSON",
                             "edgeconv profile compare A.json B.json")
        profiles = [(p, load_profile(p)) for p in paths]
        header, rows = compare_rows(profiles)
        table = Table(title="p50 latency (ms) by device")
        for col in header:
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        for p, data in profiles:
            if data.get("throttled"):
                console.print(f"[red]{p} THROTTLED during its run: {'; '.join(data['throttled'])}[/red]")
        if plot is not None:
            plot_profiles(profiles, plot)
            console.print(f"wrote {plot}")
        return

    models = [Path(t) for t in targets]
    try:
        thread_list = [int(t) for t in threads.split(",") if t.strip()]
    except ValueError as exc:
        raise UsageError("--threads", f"{threads!r} is not a list of integers", "e.g. 1,2,4") from exc
    if not thread_list or min(thread_list) < 1:
        raise UsageError("--threads", f"{threads!r} needs counts >= 1")
    size_list = [parse_hw(s.strip(), "--sizes") for s in sizes.split(",") if s.strip()]
    if runs < 1 or warmup < 0 or (duration is not None and duration <= 0):
        raise UsageError("--runs", "runs must be >= 1, warm-up >= 0 and --duration > 0")
    names = [b for b in backend if b != "all"]
    if "all" in backend:
        names = [name for name, usable, _ in backend_status() if usable]
    status = Console(stderr=True)
    with status.status("profiling ...") as spinner:
        def progress(c) -> None:  # noqa: ANN001
            spinner.update(f"{c.model} {c.backend} t{c.threads} {c.height}x{c.width}: {c.p50_ms:.1f} ms")

        result = run_profile(models, names, thread_list, size_list, runs, duration, warmup, layers, sustained,
                             on_cell=progress)
    if result.throttled:
        console.print(f"[bold red]THROTTLED during this profile: {'; '.join(result.throttled)}[/bold red]")
    cpu = result.device.get("cpu", {})
    console.print(f"device: {result.device.get('board_model')} / {cpu.get('model')} x{cpu.get('cores')}, "
                  f"governor {cpu.get('governor')}, {result.device.get('os')}, python {result.device.get('python')}")
    table = Table(title="latency per cell")
    for col in ("model", "precision", "back end", "threads", "size", "p50 ms", "p90 ms", "p99 ms", "std", "fps",
                "peak RSS MB"):
        table.add_column(col)
    for c in result.cells:
        table.add_row(c.model, c.precision, c.backend, str(c.threads), f"{c.height}x{c.width}", fmt(c.p50_ms),
                      fmt(c.p90_ms), fmt(c.p99_ms), fmt(c.std_ms), fmt(c.fps), f"{c.peak_rss_mb:.0f}")
    console.print(table)
    for b in result.layers:
        top = ", ".join(f"{m['module']} {m['ms']:.2f}" for m in b["by_module"][:5])
        where = f"{b['model']} on {b['backend']} at {b['size'][0]}x{b['size'][1]}"
        console.print(f"{where}: layers {b['layers_ms']:.2f} ms "
                      f"of {b['end_to_end_ms']:.2f} ms end to end ({100 * b['coverage']:.0f}%), shift/slice/concat "
                      f"{100 * b['shift_share']:.1f}%; top: {top}")
    if output is not None:
        write_bytes_atomic(output, json.dumps(result.as_json(), indent=2, default=str).encode())
        console.print(f"wrote {output}")
    if plot is not None:
        plot_profiles([(output or Path("profile"), result.as_json())], plot)
        console.print(f"wrote {plot}")
