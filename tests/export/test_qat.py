"""Quantization-aware fine-tuning: fewer errors than PTQ on its data, the trained graph is what ORT runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.qat import QATSettings, qat_finetune, trainable_weights
from edgeconv.export.quantization.schemes import ort_runner
from edgeconv.runtime.imaging.degradations import degrade
from edgeconv.runtime.model_facts import read_model_facts
from edgeconv.runtime.validation.sr_metrics import score_sr


@pytest.fixture(scope="module")
def hr_folder(tmp_path_factory, astronaut: np.ndarray) -> Path:
    folder = tmp_path_factory.mktemp("qat_hr")
    Image.fromarray(astronaut[40:200, 120:280]).save(folder / "a.png")
    Image.fromarray(astronaut[250:410, 200:360]).save(folder / "b.png")
    return folder


def psnr_on(model: onnx.ModelProto, folder: Path, facts) -> float:  # noqa: ANN001
    run = ort_runner(model)
    scores = []
    for path in sorted(folder.glob("*.png")):
        hr = np.asarray(Image.open(path).convert("RGB"))
        out = run(facts.to_input(degrade(hr, 2, "bicubic")))
        scores.append(score_sr(facts.to_image(out) / 255.0, hr, 2)[0])
    return float(np.mean(scores))


def test_qat_recovers_what_ptq_lost_on_its_data(default_onnx: Path, hr_folder: Path) -> None:
    fp32, facts = onnx.load(default_onnx), read_model_facts(default_onnx)
    rng = np.random.default_rng(0)
    feeds = [{"input": rng.random((1, 3, 24, 24), dtype=np.float32) * 0.8 + 0.1} for _ in range(4)]
    config = Int8Config(activation_type="u8", weight_type="u8", per_channel=False)
    ptq = quantize_int8(fp32, feeds, config)  # calibrated on noise: a poor PTQ, room to recover
    convs = ("0.0", "1", "3", "5")  # the shipped photo net's four trained convs
    assert trainable_weights(fp32) == [f"body.{i}.{kind}" for i in convs for kind in ("weight", "bias")]
    settings = QATSettings(hr_folder, steps=60, batch_size=8, lr_patch=24, lr=1e-3)
    run = qat_finetune(ptq, trainable_weights(fp32), False, 2, settings)
    tuned, losses = run.model, run.losses
    assert len(losses) == 60 and np.mean(losses[-10:]) < np.mean(losses[:10])
    before, after = psnr_on(ptq, hr_folder, facts), psnr_on(tuned, hr_folder, facts)
    assert after > before + 0.05, (before, after)
    # the fixed kernels (luma, bicubic) are untouched
    kept = {t.name: onnx.numpy_helper.to_array(t) for t in ptq.graph.initializer}
    for t in tuned.graph.initializer:
        if t.name.startswith(("luma", "bicubic")):
            np.testing.assert_array_equal(onnx.numpy_helper.to_array(t), kept[t.name])


def test_qat_refuses_models_without_trainable_marks_and_bad_settings(default_onnx: Path, tmp_path: Path) -> None:
    model = onnx.load(default_onnx)
    del model.metadata_props[:]
    with pytest.raises(UsageError, match="does not say which weights are trainable"):
        trainable_weights(model)
    with pytest.raises(UsageError, match="is not a folder"):
        QATSettings(tmp_path / "none").check()
    with pytest.raises(UsageError, match="--qat-steps"):
        QATSettings(tmp_path, steps=0).check()
    with pytest.raises(UsageError, match="--max-minutes"):
        QATSettings(tmp_path, max_minutes=0).check()


@pytest.fixture(scope="module")
def small_ptq(default_onnx: Path) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    feeds = [{"input": rng.random((1, 3, 24, 24), dtype=np.float32)} for _ in range(2)]
    return quantize_int8(onnx.load(default_onnx), feeds,
                         Int8Config(activation_type="u8", weight_type="s8", reduce_range=False))


def initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}


def test_a_killed_run_resumes_from_its_last_save_to_the_same_model(small_ptq, default_onnx: Path, hr_folder: Path,
                                                                  tmp_path: Path) -> None:
    """Killed after step 7 with a save every 3 steps, resumed: the same losses and the same written graph as
    one uninterrupted run (same batches, optimiser and schedule state)."""
    trainable = trainable_weights(onnx.load(default_onnx))
    base = {"steps": 10, "batch_size": 4, "lr_patch": 16, "save_every": 3}
    whole = qat_finetune(small_ptq, trainable, False, 2, QATSettings(hr_folder, **base))

    state = tmp_path / "m.qat.pt"

    def kill_after_7(step: int, total: int, loss: float) -> None:
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        qat_finetune(small_ptq, trainable, False, 2, QATSettings(hr_folder, state=state, **base), on_step=kill_after_7)
    assert state.is_file()
    resumed = qat_finetune(small_ptq, trainable, False, 2, QATSettings(hr_folder, state=state, resume=state, **base))
    assert resumed.finished and len(resumed.losses) == 10
    np.testing.assert_array_equal(resumed.losses, whole.losses)
    want, got = initializers(whole.model), initializers(resumed.model)
    assert want.keys() == got.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_resume_refuses_another_runs_state_and_garbage(small_ptq, default_onnx: Path, hr_folder: Path,
                                                       tmp_path: Path) -> None:
    trainable = trainable_weights(onnx.load(default_onnx))
    state = tmp_path / "m.qat.pt"
    stopped = qat_finetune(small_ptq, trainable, False, 2, QATSettings(hr_folder, steps=50, batch_size=2, lr_patch=16,
                                                                        max_minutes=1e-9, state=state))
    assert not stopped.finished and stopped.model is None and len(stopped.losses) == 1 and state.is_file()
    with pytest.raises(UsageError, match=r"m.qat.pt \| was saved by another model or settings \(differs in: steps\)"):
        qat_finetune(small_ptq, trainable, False, 2, QATSettings(hr_folder, steps=60, batch_size=2, lr_patch=16,
                                                                 resume=state))
    junk = tmp_path / "junk.qat.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(UsageError, match=r"junk.qat.pt \| is not a QAT state file"):
        qat_finetune(small_ptq, trainable, False, 2, QATSettings(hr_folder, steps=50, batch_size=2, lr_patch=16,
                                                                 resume=junk))


@pytest.mark.slow
def test_quantize_cli_fine_tunes_and_records_it(default_onnx: Path, hr_folder: Path, tmp_path: Path) -> None:
    import json

    from tests.conftest import run_cli

    out = tmp_path / "m.qat.onnx"
    result = run_cli("quantize", str(default_onnx), "--calib", str(hr_folder), "--qat-data", str(hr_folder),
                     "--qat-steps", "5", "--target", "x86-vnni", "--activation-type", "u8", "--weight-type", "u8",
                     "--reduce-range", "off", "-o", str(out))
    assert result.returncode == 0, result.stderr
    props = {p.key: p.value for p in onnx.load(out).metadata_props}
    quantization = json.loads(props["edgeconv.quantization"])
    assert quantization["qat_steps"] == 5 and quantization["kept_float"] == []
    both = run_cli("quantize", str(default_onnx), "--calib", str(hr_folder), "--qat-data", str(hr_folder),
                   "--images", str(hr_folder), "--max-psnr-drop", "0.1", "-o", str(tmp_path / "x.onnx"))
    assert both.returncode == 2 and "--qat-data | fine-tunes every layer in INT8" in both.stderr


@pytest.mark.slow
def test_quantize_cli_stops_by_minutes_and_resumes(default_onnx: Path, hr_folder: Path, tmp_path: Path) -> None:
    """--max-minutes: the state saved, no artifact; --resume: the artifact written and the stale state removed."""
    import json

    from tests.conftest import run_cli

    out, state = tmp_path / "m.int8.onnx", tmp_path / "m.int8.qat.pt"
    args = ["quantize", str(default_onnx), "--calib", str(hr_folder), "--qat-data", str(hr_folder),
            "--qat-steps", "3", "--activation-type", "u8", "--weight-type", "u8", "--reduce-range", "off",
            "-o", str(out)]
    stopped = run_cli(*args, "--max-minutes", "0.0001")
    assert stopped.returncode == 0, stopped.stderr
    assert "QAT stopped by --max-minutes after 1 of 3 steps" in stopped.stdout and str(state) in stopped.stdout
    assert state.is_file() and not out.exists()
    wrong = run_cli(*[a if a != "3" else "4" for a in args], "--resume", str(state))
    assert wrong.returncode == 2 and "was saved by another model or settings" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not out.exists()
    resumed = run_cli(*args, "--resume", str(state))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming QAT from" in resumed.stderr and out.is_file() and not state.exists()
    props = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert json.loads(props["edgeconv.quantization"])["qat_steps"] == 3
    alone = run_cli("quantize", str(default_onnx), "--calib", str(hr_folder), "--max-minutes", "5")
    assert alone.returncode == 2 and "use it with --qat-data" in alone.stderr
