"""Reports a person reads and numbers a user can compare (issue 26, items 4 and 6).

Pinned here: the CSV beside a validate / profile JSON holds the JSON's numbers; reports record each model's
SHA-256; load (read + compile) and first-inference times sit beside the steady-state latency; ``upscale`` prints
per-image ms; printed reports hold no Python reprs and no runtime-generated node names; every label of the
validate, profile and research plots lies inside its figure, one colour means one series in every panel, and
an ERF map is cropped to its field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.layer_names import GLUE, layer_label
from edgeconv.runtime.backends.registry import create_backend, usable_backends
from edgeconv.runtime.shipped_models import for_onnxruntime, shipped_path
from tests.conftest import run_cli

pytest.importorskip("matplotlib")

MODEL = shipped_path("photo", 2)  # the OpenVINO form (PReLU kept); ONNX Runtime's form beside it
ORT_MODEL = for_onnxruntime(MODEL)
GENERATED_NAME = re.compile(r"_\d{3,}_\d|_\d{3,}\b|_token_\d")  # Subtract_34172_0, Convert_8313, ReorderOutput_token_12
BACKENDS = [b for b in ("onnxruntime", "openvino") if b in usable_backends()]
PHOTO_SIZE = (96, 128)  # the `photos` fixture's crops (tests/runtime/conftest.py): astronaut, coffee


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_readable(text: str) -> None:
    """No Python repr (a dataclass, a dict, a list of shapes) and no node name a runtime made up."""
    assert "Gates(" not in text and "{'" not in text and "['" not in text, text
    assert not GENERATED_NAME.search(text), GENERATED_NAME.search(text)


@pytest.fixture(scope="module")
def validation(photos: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (result, folder)
    from edgeconv.runtime.validation.job import ValidationSettings, run_validation
    from edgeconv.runtime.validation.validator import Gates

    out = tmp_path_factory.mktemp("validation")
    result = run_validation(ValidationSettings(
        [MODEL, ORT_MODEL], backends=BACKENDS, images=photos, runs=3, warmup=1, latency_hw=(32, 48), threads=1,
        gates=Gates(max_psnr_drop=0.5), json_out=out / "val.json", report=out / "report"))
    return result, out


# --- item 4: hashes, CSV beside the JSON, cold costs -----------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_and_first_inference_are_timed_beside_the_runs(backend: str) -> None:
    runner = create_backend(backend, MODEL, BackendOptions(threads=1))
    assert runner.load_ms > 0 and math.isnan(runner.first_inference_ms)
    x = np.random.default_rng(0).random((1, 3, 24, 24), dtype=np.float32)
    samples = runner.time_runs(x, runs=3, warmup=2)
    assert len(samples) == 3 and runner.first_inference_ms > 0 and runner.first_call_ms > 0
    first = runner.first_inference_ms
    runner.time_runs(np.zeros((1, 3, 16, 16), np.float32), runs=2, warmup=0)  # warm-up 0: the first run is timed
    assert runner.first_inference_ms == first  # the first inference after loading stays the first


def test_validation_json_records_hashes_and_cold_costs(validation: tuple) -> None:
    result, out = validation
    data = json.loads((out / "val.json").read_text())
    files = {MODEL.name: MODEL, ORT_MODEL.name: ORT_MODEL}
    assert len(data["rows"]) == 2 * len(BACKENDS)
    for row in data["rows"]:
        assert row["model_sha256"] == sha256(files[row["model"]])
        assert row["load_ms"] > 0 and row["first_inference_ms"] > 0 and row["latency"]["p50"] > 0
    report = (out / "report" / "report.md").read_text()
    assert sha256(MODEL) in report and sha256(ORT_MODEL) in report


def test_validation_csv_rows_equal_the_json_numbers(validation: tuple) -> None:
    from edgeconv.runtime.validation.report import CSV_COLUMNS

    _, out = validation
    data = json.loads((out / "val.json").read_text())
    rows = list(csv.DictReader(io.StringIO((out / "val.csv").read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(data["rows"])
    for got, want in zip(rows, data["rows"], strict=True):
        numbers = {**{k: want[k] for k in ("max_abs", "mean_abs", "cosine", "output_psnr_db", "psnr_y_db", "ssim_y",
                                           "load_ms", "first_inference_ms", "peak_rss_mb")},
                   **{f"{k}_ms": want["latency"][k] for k in ("p50", "p90", "p99", "mean", "std")},
                   "fps": want["latency"]["fps"]}
        for key, value in numbers.items():
            assert (got[key] == "") if value is None else float(got[key]) == value, key
        assert (got["model"], got["model_sha256"], got["precision"], got["backend"]) == (
            want["model"], want["model_sha256"], want["precision"], want["backend"])
        assert got["passed"] == ("true" if not want["failures"] else "false")


def test_validation_refuses_to_replace_the_csv_without_force(photos: Path, tmp_path: Path) -> None:
    from edgeconv.runtime.validation.job import ValidationSettings, run_validation

    (tmp_path / "val.csv").write_text("kept")
    with pytest.raises(UsageError, match="val.csv"):
        run_validation(ValidationSettings([MODEL], backends=["onnxruntime"], images=photos, runs=1, warmup=0,
                                          json_out=tmp_path / "val.json"))
    assert (tmp_path / "val.csv").read_text() == "kept" and not (tmp_path / "val.json").exists()


@pytest.fixture(scope="module")
def profile_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (Profile, JSON path)
    from edgeconv.runtime.profiling.profiler import ProfileSettings, profile, write_profile

    out = tmp_path_factory.mktemp("profile") / "here.json"
    settings = ProfileSettings.parse(models=[MODEL], backends=BACKENDS, threads="1", sizes="16x24,24x32", runs=3,
                                     warmup=1, layers=True)
    result = profile(settings)
    write_profile(result, out)
    return result, out


def test_profile_csv_rows_equal_the_json_cells(profile_run: tuple) -> None:
    from edgeconv.runtime.profiling.profiler import CSV_COLUMNS

    _, path = profile_run
    data = json.loads(path.read_text())
    assert data["models"] == [{"file": MODEL.name, "sha256": sha256(MODEL)}]
    rows = list(csv.DictReader(io.StringIO(path.with_suffix(".csv").read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(data["cells"]) == 2 * len(BACKENDS)
    for got, cell in zip(rows, data["cells"], strict=True):
        for key in CSV_COLUMNS:
            want = cell[key]
            assert (float(got[key]) == want) if isinstance(want, int | float) else got[key] == want, key
        assert cell["model_sha256"] == sha256(MODEL)
        assert cell["load_ms"] > 0 and cell["first_ms"] > 0 and cell["p50_ms"] > 0


def test_the_printed_profile_names_modules_not_runtime_nodes(profile_run: tuple,
                                                             capsys: pytest.CaptureFixture) -> None:
    from edgeconv.cli.profile import print_profile

    result, _ = profile_run
    print_profile(result)
    text = capsys.readouterr().out
    assert "load ms" in text and "first ms" in text and sha256(MODEL)[:16] in text
    assert_readable(text)
    for breakdown in result.layers:
        for layer in breakdown["layers"]:
            assert not GENERATED_NAME.search(layer["module"]) and "Reorder" not in layer["module"], layer


@pytest.mark.parametrize(("node", "op", "originals", "label"), [
    ("/body/body.1/conv/Conv", "Conv", (), "body.1.conv"),
    ("/Conv_output_0_nchwc", "Conv", (), "(top) Conv"),  # ONNX Runtime's NCHWc rename of a top-level conv
    ("ReorderOutput_token_12", "ReorderOutput", (), GLUE),
    ("ReorderOutput", "ReorderOutput", (), GLUE),
    ("Transpose_token_11", "Transpose", (), GLUE),
    ("Subtract_34172_0", "Subtract", ("Subtract_34172_0", "/body/body.0/body.0.1/Mul"), "body.0.1"),  # OpenVINO
    ("Convert_33942_acdb_abcd_Subtract_33943", "Convert", ("Convert_33942",), GLUE),
    ("output_acdb_abcd_output/sink_port_0", "Reorder", (), GLUE),
    ("output_original", "DepthToSpace", ("output_original",), "(top) DepthToSpace"),
    ("body.5.weight_DequantizeLinear", "DequantizeLinear", (), "body.5"),
])
def test_layer_labels_never_show_generated_node_names(node: str, op: str, originals: tuple, label: str) -> None:
    assert layer_label(node, op, originals) == label


def test_validation_report_has_no_python_reprs(validation: tuple) -> None:
    from rich.console import Console

    from edgeconv.runtime.validation.report import rich_table

    result, out = validation
    console = Console(file=io.StringIO(), width=200)
    console.print(rich_table(result))
    printed = console.file.getvalue()
    assert "load ms" in printed and "first ms" in printed
    report = (out / "report" / "report.md").read_text()
    assert "Gates: PSNR-Y drop <= 0.5 dB." in report
    for text in (printed, report):
        assert_readable(text)


# --- upscale: per-image ms --------------------------------------------------------------------------------------


def test_upscale_prints_ms_per_image(photos: Path, tmp_path: Path) -> None:
    one = run_cli("upscale", str(photos / "coffee.png"), str(tmp_path / "coffee_x2.png"), "--backend", "onnxruntime")
    assert one.returncode == 0, one.stderr
    assert re.search(r"coffee\.png: \d+\.\d ms", one.stdout), one.stdout
    many = run_cli("upscale", str(photos), str(tmp_path / "out"), "--backend", "onnxruntime")
    assert many.returncode == 0, many.stderr
    for name in ("astronaut.png", "coffee.png"):
        assert re.search(rf"^{re.escape(name)}: \d+\.\d ms$", many.stdout, re.M), many.stdout
    assert re.search(r"^2 files: median \d+\.\d ms, total \d+\.\d\d s$", many.stdout, re.M), many.stdout


# --- plots: every label inside its figure, one meaning per colour ------------------------------------------------


def assert_texts_inside(fig) -> None:  # noqa: ANN001 - a matplotlib Figure
    """Every drawn text artist (titles, tick labels, legends, colour-bar labels) inside the figure, and everything
    drawn inside it too (its tight bounding box)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    undrawn = set()  # matplotlib keeps tick labels for locations past the view limits but does not draw them
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 * abs(high - low) <= tick.get_loc() <= high + 1e-9 * abs(high - low):
                    undrawn |= {id(tick.label1), id(tick.label2)}
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in undrawn]
    assert texts
    drawn = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
    assert drawn.x0 >= -1 and drawn.y0 >= -1 and drawn.x1 <= width + 1 and drawn.y1 <= height + 1, drawn
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, (
            text.get_text(), box, (width, height))


def test_validation_plots_keep_labels_inside_and_points_off_the_frame(validation: tuple) -> None:
    import matplotlib.pyplot as plt

    from edgeconv.runtime.validation.report import latency_figure, quality_figure

    result, _ = validation
    for fig in (latency_figure(result), quality_figure(result)):
        assert_texts_inside(fig)
    ax = fig.axes[0]
    box = ax.get_window_extent()
    points = np.concatenate([c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections])
    assert len(points) == len(result.rows)
    assert (points[:, 0] > box.x0 + 5).all() and (points[:, 0] < box.x1 - 5).all()  # off the frame
    assert (points[:, 1] > box.y0 + 5).all() and (points[:, 1] < box.y1 - 5).all()
    assert not ax.texts and len(fig.legends) == 1  # no labels on the points: one legend names them
    plt.close("all")


def _profile(cells: list[tuple[str, str, int, int, int, float]], name: str = "A") -> tuple[Path, dict]:
    keys = ("backend", "precision", "threads", "height", "width", "p50_ms")
    return Path(f"{name}.json"), {"device": {"cpu": {"model": f"CPU {name}"}}, "throttled": [],
                                  "cells": [{"model": "m.onnx", **dict(zip(keys, c, strict=True))} for c in cells]}


SWEEP = [(b, p, t, h, w, ms * (1 + t) * h * w / 1e4) for b, ms in (("onnxruntime", 2.0), ("openvino", 1.0))
         for p in ("fp32", "int8") for t in (1, 2) for h, w in ((180, 320), (360, 640), (720, 1280))]


def test_profile_plots_keep_labels_inside_and_one_legend_for_all_panels() -> None:
    import matplotlib.pyplot as plt

    from edgeconv.runtime.profiling.profiler import profile_figure

    one = profile_figure([_profile(SWEEP)])
    assert_texts_inside(one)
    assert [t.get_text() for t in one.axes[0].get_xticklabels()] == ["180x320", "360x640", "720x1280"]
    # two devices, the second without one series: one legend for the figure, each series one colour everywhere
    two = profile_figure([_profile(SWEEP, "A"), _profile(SWEEP[3:], "B")])
    assert_texts_inside(two)
    assert len(two.legends) == 1 and not any(ax.get_legend() for ax in two.axes)
    labels = [t.get_text() for t in two.legends[0].get_texts()]
    assert len(labels) == len(set(labels)) == 8
    colours = [{line.get_label(): line.get_color() for line in ax.get_lines()} for ax in two.axes]
    assert all(colours[1][label] == colours[0][label] for label in colours[1])
    plt.close("all")


def test_a_one_size_profile_is_bars_not_a_megapixel_axis() -> None:
    import matplotlib.pyplot as plt

    from edgeconv.runtime.profiling.profiler import profile_figure

    fig = profile_figure([_profile([c for c in SWEEP if c[3] == 180])])
    assert_texts_inside(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "p50 latency (ms)" and "megapixel" not in ax.get_xlabel()
    assert len(ax.patches) == 8 and [t.get_text() for t in ax.get_yticklabels()][0] == "onnxruntime fp32, 1 thread"
    plt.close("all")


def test_research_summary_colours_each_variant_the_same_in_both_panels() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from edgeconv.research.report import summary_figure

    rows = [{"variant": v, "metric": "psnr_y_db", "n": 3, "value_mean": 35 + i / 10, "value_std": 0.02,
             "value_all": [35 + i / 10] * 3, "r50_all": [0.003 * (i + 1)] * 3} for i, v in enumerate(
                 ("plain", "jitter-learnable", "shiftwise-rotational", "pixelmix"))]
    fig = summary_figure(rows)
    assert_texts_inside(fig)
    bars, scatter = fig.axes
    assert len(fig.legends) == 1 and not bars.get_legend() and not scatter.get_legend()
    bar_colours = [to_hex(p.get_facecolor()) for p in bars.patches]
    point_colours = [to_hex(c.get_facecolor()[0]) for c in scatter.collections]
    assert bar_colours == point_colours and len(set(bar_colours)) == 4
    plt.close("all")


# --- ERF maps: cropped to the field, with their scales --------------------------------------------------------


def test_erf_maps_are_cropped_to_the_field() -> None:
    import matplotlib.pyplot as plt

    from edgeconv.runtime.erf.measures import erf_measures
    from edgeconv.runtime.erf.plot import erf_grid_figure, field_box

    small = np.zeros((48, 48))
    small[21:28, 22:27] = 0.01  # a faint 7 x 5 field round the centre (24, 24) ...
    small[24, 24] = 5.0  # ... and its bright centre
    wide = np.zeros((48, 48))
    wide[10:40, 18:31] = 1.0  # a 30 x 13 field
    assert field_box(np.log10(small + 1) / np.log10(6.0)) == (21, 28, 22, 27)

    fig = erf_grid_figure({"small": (small, erf_measures(small))})
    assert_texts_inside(fig)
    image = fig.axes[0].images[0]
    assert image.get_array().shape == (7, 5)  # the field's bounding box, not the 48 x 48 input
    assert list(image.get_extent()) == [-2.5, 2.5, -3.5, 3.5]  # axes in input pixels from the centre
    assert fig.axes[0].get_xlabel() == "input px from the centre" and len(fig.axes) == 2  # + the colour bar
    plt.close(fig)

    maps = {name: (m, erf_measures(m)) for name, m in (("small", small), ("wide", wide), ("again", small))}
    grid = erf_grid_figure(maps)
    assert_texts_inside(grid)
    assert [ax.images[0].get_array().shape for ax in grid.axes[:3]] == [(30, 13)] * 3  # one box: every field
    plt.close(grid)


def test_erf_progress_lines_for_pipes() -> None:
    from edgeconv.cli.erf import progress_lines

    said: list[str] = []
    update = progress_lines(said.append, every_s=3600)
    for done in (0, 128, 256, 1815):
        update("m.onnx", done, 1815)
    assert said == ["m.onnx: 1815/1815 (100%)"]  # the end; the rest throttled, the start silent
    quick = progress_lines(said.append, every_s=0)
    quick("m.onnx", 0, 4)
    quick("m.onnx", 2, 4)
    assert said[1:] == ["m.onnx: 2/4 (50%)"]


def test_json_keeps_small_errors_to_seven_significant_digits() -> None:
    from edgeconv.runtime.validation.latency import LatencyStats
    from edgeconv.runtime.validation.validator import Gates, ValidationResult, ValidationRow

    row = ValidationRow("m.onnx", "fp32", "onnxruntime", 1.234567891e-07, 3e-9, 1.0, math.inf, math.nan, math.nan,
                        LatencyStats.of([1.0, 2.0]), 100.0)
    data = ValidationResult([row], "ref", math.nan, Gates(), "x", (8, 8)).as_json()["rows"][0]
    assert data["max_abs"] == 1.234568e-07 and data["mean_abs"] == 3e-09  # not 0.0 (6 decimals hid them)
    assert data["output_psnr_db"] is None and data["load_ms"] is None  # inf and NaN: null, an empty CSV cell


def test_profile_command_writes_the_csv_and_shows_progress_in_a_pipe(tmp_path: Path) -> None:
    out = tmp_path / "here.json"
    done = run_cli("profile", str(ORT_MODEL), "--backend", "onnxruntime", "--threads", "1", "--size", "16x16,24x24",
                   "--runs", "2", "--no-layers", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} and {out.with_suffix('.csv')}" in done.stdout and out.with_suffix(".csv").is_file()
    cells = re.findall(r"^\S+ onnxruntime t1 \d+x\d+: p50 \d+\.\d ms$", done.stderr, re.M)  # one line per cell
    assert len(cells) == 2, done.stderr
    again = run_cli("profile", str(ORT_MODEL), "--backend", "onnxruntime", "--threads", "1", "--size", "16x16",
                    "--runs", "1", "--no-layers", "-o", str(tmp_path / "other.json"))
    assert again.returncode == 0
    (tmp_path / "other.json").unlink()  # the CSV left alone is refused too, before anything runs
    refused = run_cli("profile", str(ORT_MODEL), "--backend", "onnxruntime", "-o", str(tmp_path / "other.json"))
    assert refused.returncode == 2 and "other.csv" in refused.stderr and "--force" in refused.stderr
