"""The default back end by measurement (``edgeconv.runtime.backends.fastest``): timed once per model, cached, reused.

Real timings on a tiny SR model in the installed back ends, injected timings for the selection itself, the cache's
key (model bytes) and the one-line note for a model in another back end's form.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgeconv.runtime.backends import fastest
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.fastest import (
    CACHED,
    MEASURED_NOW,
    ONLY,
    PENDING,
    Timings,
    cached_pick,
    fastest_backend,
    files_identity,
    installed_backends,
    pick_fastest,
    time_backends,
)
from edgeconv.runtime.backends.forms import form_note
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.shipped_models import SHIPPED_DIR

ORT, OV = BackendName.ONNXRUNTIME, BackendName.OPENVINO
needs_two = pytest.mark.skipif(len(installed_backends()) < 2, reason="OpenVINO is not installed: nothing to compare")


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty measurement cache of this test's own."""
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "backends.json"


def tiny_sr(path: Path, seed: int = 0) -> Path:
    """A real x2 SR model: 3x3 conv 3 -> 12, depth-to-space; edgeconv facts in its metadata."""
    weight = np.random.default_rng(seed).normal(0, 0.1, (12, 3, 3, 3)).astype(np.float32)
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", ["input", "w"], ["f"], pads=[1, 1, 1, 1]),
         onnx.helper.make_node("DepthToSpace", ["f"], ["output"], blocksize=2, mode="CRD")], "tiny_sr",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, None, None])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3, None, None])],
        [onnx.numpy_helper.from_array(weight, "w")])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    onnx.helper.set_model_props(model, {"edgeconv.task": "sr", "edgeconv.scale": "2"})
    onnx.save(model, path)
    return path


def injected(times: dict[str, float], calls: list[int] | None = None):  # noqa: ANN201 - a Timer
    """A timer that returns ``times`` (and counts its calls) instead of running anything."""
    def timer(files, options, on_status) -> Timings:  # noqa: ANN001 - the Timer signature
        if calls is not None:
            calls.append(1)
        return Timings(dict(times))
    return timer


def test_selection_picks_the_smaller_median_ties_in_registry_order() -> None:
    assert pick_fastest({"onnxruntime": 36.7, "openvino": 19.0}) == OV
    assert pick_fastest({"onnxruntime": 19.0, "openvino": 36.7}) == ORT
    assert pick_fastest({"openvino": 5.0, "onnxruntime": 5.0}) == ORT
    assert pick_fastest({"openvino": 5.0}) == OV


def test_injected_timings_decide_and_are_cached_with_the_line(cache: Path, tmp_path: Path) -> None:
    model = tiny_sr(tmp_path / "m.onnx")
    files = {ORT: model, OV: model}
    pick = fastest_backend(files, timer=injected({"onnxruntime": 36.7, "openvino": 19.0}))
    assert pick.backend == OV and pick.how == MEASURED_NOW
    assert pick.line().startswith("back end: openvino (fastest here: 19.0 ms vs onnxruntime 36.7 ms per 640x360")
    (entry,) = json.loads(cache.read_text()).values()
    assert entry["backend"] == "openvino" and entry["median_ms"] == {"onnxruntime": 36.7, "openvino": 19.0}
    again = fastest_backend(files, timer=injected({"onnxruntime": 1.0, "openvino": 99.0}))  # cached: not timed
    assert again.backend == OV and again.how == CACHED and again.line().endswith(", cached)")


@needs_two
def test_real_measurement_picks_the_faster_and_the_second_call_times_nothing(
        cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_sr(tmp_path / "tiny.onnx")
    files = {ORT: model, OV: model}
    calls: list[int] = []

    def counted(*args, **kwargs) -> Timings:  # noqa: ANN002, ANN003 - passes through
        calls.append(1)
        return time_backends(*args, **kwargs)

    lines: list[str] = []
    first = fastest_backend(files, timer=counted, on_status=lines.append)
    assert calls == [1] and first.how == MEASURED_NOW
    assert set(first.median_ms) == {"onnxruntime", "openvino"} and min(first.median_ms.values()) > 0
    assert first.backend == min(first.median_ms, key=first.median_ms.get)  # the faster of the two, as measured
    assert first.hw == (360, 640) and any("round 2/2" in line for line in lines)  # a status line while measuring
    stored = json.loads(cache.read_text())
    assert len(stored) == 1

    monkeypatch.setattr(fastest, "time_backends", lambda *a, **k: pytest.fail("timed again"))
    second = fastest_backend(files, timer=counted)
    assert calls == [1] and second.how == CACHED and second.backend == first.backend
    assert second.median_ms == {k: round(v, 2) for k, v in first.median_ms.items()}
    assert json.loads(cache.read_text()) == stored  # written once


def test_the_key_changes_with_the_model_file_cpu_and_options(cache: Path, tmp_path: Path) -> None:
    model = tiny_sr(tmp_path / "m.onnx")
    files = {ORT: model, OV: model}
    identity = files_identity(files)
    fastest_backend(files, timer=injected({"onnxruntime": 2.0, "openvino": 1.0}))
    assert cached_pick(identity, [ORT, OV], BackendOptions()) is not None
    assert cached_pick(identity, [ORT, OV], BackendOptions(threads=1)) is None  # other threads: other speed
    tiny_sr(model, seed=1)  # the same path, other weights
    assert files_identity(files) != identity
    assert fastest_backend(files, measure=False).how == PENDING  # not cached: would be measured
    calls: list[int] = []
    assert fastest_backend(files, timer=injected({"onnxruntime": 1.0, "openvino": 2.0}, calls)).backend == ORT
    assert calls == [1] and len(json.loads(cache.read_text())) == 2


def test_one_installed_back_end_is_used_without_measuring(cache: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime-only install (ONNX Runtime alone): OpenVINO drops out, nothing is timed or cached."""
    real_find_spec = fastest.importlib.util.find_spec
    monkeypatch.setattr(fastest.importlib.util, "find_spec",
                        lambda name, *a: None if name == "openvino" else real_find_spec(name, *a))
    assert installed_backends() == [ORT]
    pick = fastest.fastest_for_model(tiny_sr(tmp_path / "m.onnx"), on_status=lambda line: pytest.fail(line))
    assert pick.backend == ORT and pick.how == ONLY and "nothing measured" in pick.line()
    assert not cache.exists()


def test_a_back_end_that_cannot_load_the_model_drops_out_with_its_reason(tmp_path: Path) -> None:
    found = time_backends({ORT: tiny_sr(tmp_path / "m.onnx"), OV: tmp_path / "missing.onnx"}, BackendOptions(),
                          lambda _line: None)
    assert set(found.median_ms) == {"onnxruntime"} and "no such model file" in found.dropped["openvino"]


def test_a_model_in_the_other_back_ends_form_gets_one_line_naming_the_right_file() -> None:
    generic, ort_form = SHIPPED_DIR / "sr_x2_photo.onnx", SHIPPED_DIR / "sr_x2_photo.ort.onnx"
    line = form_note(generic, "onnxruntime", "prelu", "max")
    assert line is not None and "PReLU as Mul + Max" in line and f"give {ort_form}" in line
    assert f"give {generic}" in form_note(ort_form, "openvino", "max", "prelu")
    assert form_note(generic, "openvino", "prelu", "prelu") is None
    assert form_note(generic, "openvino", None, "prelu") is None  # not an edgeconv export: nothing to say
    lone = form_note(Path("/nowhere/mine.onnx"), "openvino", "max", "prelu")
    assert "--backend openvino" in lone


def test_the_form_note_waits_for_the_command_and_the_measurement_stays_quiet() -> None:
    from edgeconv.runtime.backends.forms import quiet_form_notes, take_form_notes
    from edgeconv.runtime.backends.registry import create_backend

    generic = SHIPPED_DIR / "sr_x2_photo.onnx"
    take_form_notes()
    with quiet_form_notes():
        create_backend(ORT, generic)
    assert take_form_notes() == []
    create_backend(ORT, generic)
    create_backend(ORT, generic)  # once per file and back end
    (line,) = take_form_notes()
    assert line.startswith(f"note: {generic} | is the OpenVINO/TensorRT form") and "sr_x2_photo.ort.onnx" in line
    create_backend(ORT, SHIPPED_DIR / "sr_x2_photo.ort.onnx")  # its own form: nothing to say
    assert take_form_notes() == []


def test_profile_says_in_one_line_that_a_model_runs_in_another_back_ends_form() -> None:
    from tests.conftest import run_cli

    done = run_cli("profile", str(SHIPPED_DIR / "sr_x2_photo.onnx"), "--backend", "onnxruntime", "--threads", "1",
                   "--size", "16x16", "--runs", "2", "--no-layers")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "onnxruntime runs the ONNX Runtime form (PReLU as Mul + Max) faster" in notes[0]
