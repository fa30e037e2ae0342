"""``--ray``: the address forms, the one line when Ray is missing, a private local cluster on loopback only."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from edgeconv.cli.ray_options import bare_ray_means_local
from tests.bad_inputs.test_catalogue import assert_clean_failure
from tests.cluster.conftest import loopback_only, need_ray
from tests.conftest import import_blocker, run_python_snippet

BLOCK_RAY = import_blocker("ray") + textwrap.dedent(
    """
    from edgeconv.cli.app import main
    sys.argv = ["edgeconv", *sys.argv[1:]]
    main()
    """
)


@pytest.mark.parametrize(("args", "expected"), [
    (["upscale", "in", "out", "--ray"], ["upscale", "in", "out", "--ray", "local"]),
    (["upscale", "--ray", "in", "out"], ["upscale", "--ray", "local", "in", "out"]),
    (["compare", "--ray", "--threads", "1"], ["compare", "--ray", "local", "--threads", "1"]),
    (["upscale", "in", "--ray", "auto"], ["upscale", "in", "--ray", "auto"]),
    (["upscale", "in", "--ray", "ray://head:10001"], ["upscale", "in", "--ray", "ray://head:10001"]),
    (["upscale", "in", "--ray", "10.0.0.5:6379", "out"], ["upscale", "in", "--ray", "10.0.0.5:6379", "out"]),
    (["upscale", "in", "--ray=auto"], ["upscale", "in", "--ray=auto"]),
])
def test_a_bare_ray_flag_means_a_local_cluster(args: list[str], expected: list[str]) -> None:
    assert bare_ray_means_local(args) == expected


def test_without_ray_installed_the_flag_names_the_extra_in_one_line(tmp_path: Path) -> None:
    """Runs whether or not Ray is installed here: Ray is blocked, as on an install without the extra."""
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src / "a.png")
    for args in (["upscale", str(src), str(tmp_path / "out"), "--backend", "onnxruntime", "--ray"],
                 ["compare", "--tasks", "texture", "--out", str(tmp_path / "runs"), "--ray", "auto"]):
        done = run_python_snippet(BLOCK_RAY, *args)
        assert_clean_failure(done, 2, r"--ray \| needs Ray.*pip install 'edgeconv\[cluster\]'", None)
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_the_local_cluster_binds_to_loopback_with_usage_stats_off(local_ray: ModuleType) -> None:
    loopback_only(local_ray)
    assert local_ray.cluster_resources()["CPU"] == 2
    assert local_ray.get(local_ray.remote(lambda: __import__("os").environ["RAY_USAGE_STATS_ENABLED"]).remote()) == "0"


def test_an_unreachable_address_is_one_line(tmp_path: Path) -> None:
    need_ray()
    from tests.conftest import run_cli

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src / "a.png")
    done = run_cli("upscale", str(src), str(tmp_path / "out"), "--backend", "onnxruntime", "--ray", "127.0.0.1:1")
    assert_clean_failure(done, 2, r"--ray 127\.0\.0\.1:1 \| no Ray cluster there", None)


def test_shard_still_works_says_ray_is_the_way_and_does_not_mix_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeconv.errors import UsageError
    from edgeconv.research import job

    monkeypatch.setattr(job, "_plan", lambda task, settings, say: task)
    monkeypatch.setattr(job, "_run_task", lambda plan, say, remote: (plan, remote))
    said: list[str] = []
    done = job.run_comparison(job.ComparisonSettings(tasks=["texture"], shard=(0, 2)), say=said.append)
    assert done.outcomes == [("texture", None)]  # trained here, as before
    assert any("--shard is kept for old scripts; --ray runs every run" in line for line in said)
    with pytest.raises(UsageError, match="--shard \\| and --ray do not mix"):
        job.run_comparison(job.ComparisonSettings(tasks=["texture"], shard=(0, 2), ray="local"))


def test_a_session_leaves_the_process_as_it_found_it() -> None:
    """``ray.init`` swaps ``builtins.print``, sets PYTHONBREAKPOINT (children inherit it) and a SIGTERM handler;
    after ``ray_session`` all three are back (a fresh process with no Ray variables, so no other session counts)."""
    need_ray()
    script = (
        "import builtins, os, signal\n"
        "env, printer, handler = os.environ.get('PYTHONBREAKPOINT'), builtins.print, signal.getsignal(signal.SIGTERM)\n"
        "from edgeconv.runtime.cluster.session import ray_session\n"
        "with ray_session('local', cpus=1) as ray:\n"
        "    inside = os.environ.get('PYTHONBREAKPOINT') != env\n"
        "print(inside, os.environ.get('PYTHONBREAKPOINT') == env, builtins.print is printer,\n"
        "      signal.getsignal(signal.SIGTERM) == handler)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != "PYTHONBREAKPOINT"}
    done = run_python_snippet(script, env={**clean, "RAY_USAGE_STATS_ENABLED": "0"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-4:] == ["True", "True", "True", "True"], done.stdout
