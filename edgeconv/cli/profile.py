"""``edgeconv profile MODEL...`` and ``edgeconv profile compare A.json B.json ...`` (runtime only, no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from edgeconv.cli.arguments import Backends, Device, Force, refuse_overwrite, renamed
from edgeconv.errors import UsageError
from edgeconv.runtime.choices import BackendChoice, InferenceDevice


class ProfileGroup(TyperGroup):
    """``profile MODEL...`` runs the sweep (the ``run`` sub-command); ``profile compare ...`` compares files."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:  # noqa: ANN001 - click's signature
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=ProfileGroup, no_args_is_help=True,
    help="Profile latency on this device (profile MODEL... = profile run MODEL...), or compare profiles.\n\n"
    "Example: edgeconv profile out/sr.onnx out/sr.int8.onnx -o pi5.json --plot pi5.png",
)
Plot = Annotated[Path | None, typer.Option(metavar="FILE", help="Write a PNG (needs the plot extra).")]


@app.command("run", cls=renamed({"--sizes": "--size", "--output": "--out"}))  # old names (docs/CLI_OPTIONS.md)
def run(
    models: Annotated[list[Path], typer.Argument(help="ONNX models written by edgeconv export / quantize.")],
    backend: Backends = [BackendChoice.ALL],  # noqa: B006
    threads: Annotated[str, typer.Option(metavar="N,N...", help="Comma-separated thread counts to sweep.")] = "1,2",
    sizes: Annotated[str, typer.Option(
        "--size", metavar="HxW,HxW...", help="Comma-separated HxW inputs to sweep.")] = "180x320,360x640,720x1280",
    runs: Annotated[int, typer.Option(help="Timed runs per cell (ignored with --duration).")] = 30,
    duration: Annotated[float | None, typer.Option(help="Seconds per cell instead of a run count.")] = None,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up runs per cell.")] = 5,
    layers: Annotated[bool, typer.Option(help="Per-layer breakdown (each back end's own profiler).")] = True,
    sustained: Annotated[float | None, typer.Option(help="Also record latency over this many seconds.")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--out", metavar="FILE", help="Write the profile JSON here (what profile compare reads).")] = None,
    plot: Plot = None,
    device: Device = InferenceDevice.CPU,
    force: Force = False,
) -> None:
    """Profile latency here: back ends x precisions x threads x sizes, per-layer times, device state.

    Example: edgeconv profile out/sr.onnx out/sr.int8.onnx -o pi5.json --plot pi5.png
    """
    from edgeconv.runtime.csv_files import refuse_csv_overwrite
    from edgeconv.runtime.profiling.profiler import ProfileSettings, plot_profiles, write_profile

    refuse_overwrite(output, force)
    refuse_csv_overwrite(output, force)
    refuse_overwrite(plot, force)
    settings = ProfileSettings.parse(models=models, backends=backend, threads=threads, sizes=sizes, runs=runs,
                                     duration_s=duration, warmup=warmup, layers=layers, sustained_s=sustained,
                                     device=device)
    result = _profiled(settings)
    print_profile(result)
    if output is not None:
        typer.echo(f"wrote {output} and {write_profile(result, output)}")
    if plot is not None:
        plot_profiles([(output or Path("profile"), result.as_json())], plot)
        typer.echo(f"wrote {plot}")


def _profiled(settings):  # noqa: ANN001, ANN202 - ProfileSettings -> Profile
    """``profile(settings)`` under a spinner naming each finished cell; where stderr is not a terminal (a pipe, a
    log), one line per cell instead, so a sweep of minutes shows progress there too."""
    from rich.console import Console

    from edgeconv.runtime.profiling.profiler import profile

    err = Console(stderr=True)

    def line(c) -> str:  # noqa: ANN001 - a Cell
        return f"{c.model} {c.backend} t{c.threads} {c.height}x{c.width}: p50 {c.p50_ms:.1f} ms"

    if not err.is_terminal:
        return profile(settings, on_cell=lambda c: err.print(line(c), highlight=False))
    with err.status("profiling ...") as spinner:
        return profile(settings, on_cell=lambda c: spinner.update(line(c)))


@app.command("compare")
def compare(
    profiles: Annotated[list[Path], typer.Argument(help="Profile JSON files written by edgeconv profile -o.")],
    plot: Plot = None,
    force: Force = False,
) -> None:
    """Compare profiles of several devices side by side (p50 per cell), flagging throttled runs.

    Example: edgeconv profile compare pi5.json jetson.json laptop.json --plot devices.png
    """
    from rich.console import Console
    from rich.table import Table

    from edgeconv.runtime.profiling.profiler import compare_rows, load_profile, plot_profiles

    refuse_overwrite(plot, force)
    if not profiles:
        raise UsageError("profile compare", "needs at least one profile JSON", "edgeconv profile compare A.json B.json")
    loaded = [(p, load_profile(p)) for p in profiles]
    header, rows = compare_rows(loaded)
    table = Table(title="p50 latency (ms) by device")
    for col in header:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console = Console(width=max(120, Console().width))
    console.print(table)
    for p, data in loaded:
        if data.get("throttled"):
            console.print(f"[red]{p} THROTTLED during its run: {'; '.join(data['throttled'])}[/red]")
    if plot is not None:
        plot_profiles(loaded, plot)
        console.print(f"wrote {plot}")


def print_profile(result) -> None:  # noqa: ANN001 - a runtime.profiling.profiler.Profile
    """The terminal report of one profile: device line, throttling, latency table, layer summaries; one line per model
    that a back end ran in another back end's form (slower: ``forms``)."""
    from rich.console import Console
    from rich.table import Table

    from edgeconv.runtime.backends.forms import print_form_notes
    from edgeconv.runtime.profiling.profiler import TIMES, fmt

    print_form_notes()

    console = Console(width=max(140, Console().width))
    if result.throttled:
        console.print(f"[bold red]THROTTLED during this profile: {'; '.join(result.throttled)}[/bold red]")
    cpu = result.device.get("cpu", {})
    console.print(f"device: {result.device.get('board_model')} / {cpu.get('model')} x{cpu.get('cores')}, "
                  f"governor {cpu.get('governor')}, {result.device.get('os')}, python {result.device.get('python')}")
    console.print("models: " + "; ".join(f"{name} sha256 {digest[:16]}" for name, digest in
                                         {c.model: c.model_sha256 for c in result.cells}.items()), highlight=False)
    table = Table(title="latency per cell", caption=f"{TIMES}\npeak RSS: {result.settings.get('peak_rss', '-')}")
    for col in ("model", "precision", "back end", "threads", "size", "load ms", "first ms", "p50 ms", "p90 ms",
                "p99 ms", "std", "fps", "peak RSS MB"):
        table.add_column(col)
    for c in result.cells:
        table.add_row(c.model, c.precision, c.backend, str(c.threads), f"{c.height}x{c.width}", fmt(c.load_ms),
                      fmt(c.first_ms), fmt(c.p50_ms), fmt(c.p90_ms), fmt(c.p99_ms), fmt(c.std_ms), fmt(c.fps),
                      f"{c.peak_rss_mb:.0f}")
    console.print(table)
    for b in result.layers:
        top = ", ".join(f"{m['module']} {m['ms']:.2f}" for m in b["by_module"][:5])
        console.print(f"{b['model']} on {b['backend']} at {b['size'][0]}x{b['size'][1]}: layers "
                      f"{b['layers_ms']:.2f} ms of {b['end_to_end_ms']:.2f} ms end to end ({100 * b['coverage']:.0f}%; "
                      f"{b['outside_ms']:.2f} ms outside any layer: input/output copies, the runtime between nodes), "
                      f"shift/slice/concat {100 * b['shift_share']:.1f}% of the layers; top: {top}")
