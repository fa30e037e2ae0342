"""What the device was, and what state it was in, when a profile ran: CPU, clocks, heat, power mode.

Edge latencies drift with heat and clocks; a number without the device's state is not
reproducible (ultralytics #12996, geerlingguy/sbc-reviews #60). Everything is read from files
(``/proc``, ``/sys``, ``/etc``) under a ``root`` and from a few vendor commands through a
``run`` function, so tests can feed captured trees and outputs from a Raspberry Pi or a Jetson.
Anything missing reads "unknown"; nothing here raises on an unfamiliar machine.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgeconv.runtime.cpu.features import cpu_flags, cpuinfo_path

CommandRunner = Callable[[list[str]], str | None]
UNKNOWN = "unknown"

# vcgencmd get_throttled bits (Raspberry Pi firmware documentation)
PI_THROTTLE_BITS = {
    0: "under-voltage now", 1: "ARM frequency capped now", 2: "throttled now", 3: "soft temperature limit now",
    16: "under-voltage occurred", 17: "ARM frequency capping occurred", 18: "throttling occurred",
    19: "soft temperature limit occurred",
}


def run_command(cmd: list[str], timeout: float = 5.0) -> str | None:
    """stdout of ``cmd`` if it exists and succeeds.

    Args:
        cmd: the program and its arguments.
        timeout: seconds before giving up.

    Returns:
        Its stdout, or None when the program is missing, fails, or times out.
    """
    if shutil.which(cmd[0]) is None:
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _read(root: Path, rel: str) -> str | None:
    path = root / rel.lstrip("/")
    if rel == "/proc/cpuinfo" and root == Path("/"):
        path = cpuinfo_path()  # an emulated CPU is described by $EDGECONV_CPUINFO
    try:
        return path.read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return None


def _cpu(root: Path) -> dict[str, object]:
    info = _read(root, "/proc/cpuinfo") or ""
    model = UNKNOWN
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
        if m:
            model = m.group(1).strip()
            break
    cores = len(re.findall(r"^processor\s*:", info, re.MULTILINE)) or UNKNOWN
    cpufreq = "/sys/devices/system/cpu/cpu0/cpufreq"

    def mhz(name: str) -> object:
        value = _read(root, f"{cpufreq}/{name}")
        return round(int(value) / 1000) if value and value.isdigit() else UNKNOWN

    return {"model": model, "cores": cores, "governor": _read(root, f"{cpufreq}/scaling_governor") or UNKNOWN,
            "freq_mhz": mhz("scaling_cur_freq"), "freq_min_mhz": mhz("scaling_min_freq"),
            "freq_max_mhz": mhz("scaling_max_freq")}


def _ram_mb(root: Path) -> object:
    m = re.search(r"^MemTotal:\s+(\d+) kB", _read(root, "/proc/meminfo") or "", re.MULTILINE)
    return round(int(m.group(1)) / 1024) if m else UNKNOWN


def _os(root: Path) -> str:
    m = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read(root, "/etc/os-release") or "", re.MULTILINE)
    return m.group(1) if m else UNKNOWN


def thermal_zones(root: Path) -> dict[str, float]:
    """Temperatures from ``/sys/class/thermal/thermal_zone*``.

    Args:
        root: the file-system root to read (``/``; tests pass a fake tree).

    Returns:
        ``{zone type: degrees C}``; empty when there are none.
    """
    zones = {}
    base = root / "sys/class/thermal"
    for zone in sorted(base.glob("thermal_zone*")) if base.is_dir() else []:
        temp = _read(root, f"/sys/class/thermal/{zone.name}/temp")
        if temp and temp.lstrip("-").isdigit():
            zones[_read(root, f"/sys/class/thermal/{zone.name}/type") or zone.name] = int(temp) / 1000.0
    return zones


def decode_pi_throttled(output: str | None) -> dict[str, object]:
    """Decode ``vcgencmd get_throttled`` output.

    Args:
        output: e.g. ``throttled=0x50005``; None when the command was not there.

    Returns:
        ``{"raw": "0x50005", "flags": [names of the set bits]}``; raw ``unknown`` and no flags when unreadable.
    """
    m = re.search(r"throttled=(0x[0-9a-fA-F]+)", output or "")
    if not m:
        return {"raw": UNKNOWN, "flags": []}
    value = int(m.group(1), 16)
    return {"raw": m.group(1), "flags": [name for bit, name in PI_THROTTLE_BITS.items() if value >> bit & 1]}


def _board(root: Path) -> str:
    model = _read(root, "/proc/device-tree/model") or ""
    if "Raspberry Pi" in model:
        return "raspberry_pi"
    if "Jetson" in model or (root / "etc/nv_tegra_release").is_file():
        return "jetson"
    return "generic"


def _jetson(root: Path, run: CommandRunner) -> dict[str, object]:
    release = _read(root, "/etc/nv_tegra_release") or ""
    m = re.search(r"R(\d+) \(release\), REVISION: ([\d.]+)", release)
    jetpack = (run(["dpkg-query", "--showformat=${Version}", "--show", "nvidia-jetpack"]) or "").strip()
    mode = run(["nvpmodel", "-q"]) or ""
    pm = re.search(r"NV Power Mode:\s*(\S+)", mode)
    clocks = run(["jetson_clocks", "--show"]) or ""
    cpus = re.findall(r"cpu\d+: Online=1 Governor=\S+ MinFreq=(\d+) MaxFreq=(\d+) CurrentFreq=(\d+)", clocks)
    locked: object = all(lo == hi == cur for lo, hi, cur in cpus) if cpus else UNKNOWN
    return {"l4t": f"R{m.group(1)}.{m.group(2)}" if m else UNKNOWN, "jetpack": jetpack or UNKNOWN,
            "power_mode": pm.group(1) if pm else UNKNOWN, "jetson_clocks": locked}


def device_state(root: Path = Path("/"), run: CommandRunner = run_command) -> dict[str, object]:
    """The fast-changing part of the machine's facts: clock, temperatures, and the Pi's throttle flags.

    Args:
        root: the file-system root to read (``/``; tests pass a fake tree).
        run: runs a command and returns its stdout, or None (``run_command``; tests pass a fake).

    Returns:
        ``{"freq_mhz", "temperatures_c", ["pi_throttled"]}``.
    """
    state: dict[str, object] = {"freq_mhz": _cpu(root)["freq_mhz"], "temperatures_c": thermal_zones(root)}
    if _board(root) == "raspberry_pi":
        state["pi_throttled"] = decode_pi_throttled(run(["vcgencmd", "get_throttled"]))
    return state


def read_device_facts(root: Path = Path("/"), run: CommandRunner = run_command) -> dict[str, object]:
    """Everything a profile records about the machine; ``unknown`` where a fact cannot be read.

    Args:
        root: the file-system root to read (``/``; tests pass a fake tree).
        run: runs a command and returns its stdout, or None (``run_command``; tests pass a fake).

    Returns:
        Board, CPU (model, cores, governor, clocks), RAM, OS, kernel, Python, ISA flags, state, back-end versions,
        and on a Jetson its L4T, JetPack, power mode and clocks.
    """
    board = _board(root)
    facts: dict[str, object] = {
        "board": board, "board_model": _read(root, "/proc/device-tree/model") or UNKNOWN,
        "cpu": _cpu(root), "ram_mb": _ram_mb(root), "os": _os(root),
        "kernel": _read(root, "/proc/sys/kernel/osrelease") or UNKNOWN,
        "python": sys.version.split()[0], "machine": platform.machine() or UNKNOWN,
        "isa": isa_flags(_read(root, "/proc/cpuinfo") or ""),
        "state": device_state(root, run),
    }
    if board == "jetson":
        facts["jetson"] = _jetson(root, run)
    facts["backends"] = backend_versions()
    return facts


ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimd", "asimddp", "i8mm", "sve", "fphp")


def isa_flags(cpuinfo: str) -> list[str]:
    """The instruction-set flags that decide speed and INT8 exactness (a number is a fact about these).

    Args:
        cpuinfo: the text of ``/proc/cpuinfo``.

    Returns:
        The flags of ``ISA_FLAGS`` this CPU has, in that order.
    """
    _, flags = cpu_flags(cpuinfo)
    return [f for f in ISA_FLAGS if f in flags]


@dataclass(frozen=True)
class MachineSummary:
    """One line about this machine: architecture, CPU model, cores, ISA flags."""

    arch: str
    summary: str


def describe_machine(root: Path = Path("/")) -> MachineSummary:
    """``platform.machine()`` and the CPU that numbers measured here are facts about.

    Args:
        root: the file-system root to read (``/``; tests pass a fake tree).

    Returns:
        The architecture and a one-line summary (CPU model, cores, ISA flags).
    """
    cpu = _cpu(root)
    isa = ", ".join(isa_flags(_read(root, "/proc/cpuinfo") or "")) or "no ISA flags readable"
    return MachineSummary(platform.machine() or UNKNOWN, f"{cpu['model']}, {cpu['cores']} cores; {isa}")


def machine_record() -> dict[str, object]:
    """The CPU a benchmark number is a fact about (stored in every JSON).

    Returns:
        ``{"cpu", "cores", "machine", "isa", "signature", "python"}``.
    """
    from edgeconv.runtime.cpu.features import cpu_signature

    cpu = _cpu(Path("/"))
    return {"cpu": cpu["model"], "cores": cpu["cores"], "machine": platform.machine() or UNKNOWN,
            "isa": isa_flags(_read(Path("/"), "/proc/cpuinfo") or ""), "signature": cpu_signature(),
            "python": sys.version.split()[0]}


def backend_versions() -> dict[str, str]:
    """Installed back-end versions.

    Returns:
        ``{name: version}`` for onnxruntime, openvino and tensorrt; absent ones are left out.
    """
    versions = {}
    for name in ("onnxruntime", "openvino", "tensorrt"):
        try:
            versions[name] = str(__import__(name).__version__)
        except ImportError:
            continue
    return versions


def throttled_during(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Reasons to believe the device throttled between two readings.

    Args:
        before: ``device_state`` before the measurement.
        after: ``device_state`` after it.

    Returns:
        One line per sign (new Pi throttle flags, the clock down > 10 %, a zone >= 80 C); empty: no sign.
    """
    reasons = []
    pi_after = after.get("pi_throttled") or {}
    pi_before = before.get("pi_throttled") or {}
    new = [f for f in pi_after.get("flags", []) if f not in pi_before.get("flags", []) or f.endswith("now")]
    reasons += [f"Raspberry Pi firmware: {f}" for f in new]
    f0, f1 = before.get("freq_mhz"), after.get("freq_mhz")
    if isinstance(f0, int) and isinstance(f1, int) and f1 < 0.9 * f0:
        reasons.append(f"CPU clock fell from {f0} to {f1} MHz")
    hot = [f"{zone} at {t:.0f} C" for zone, t in (after.get("temperatures_c") or {}).items() if t >= 80]
    reasons += [f"temperature {h}" for h in hot]
    return reasons
