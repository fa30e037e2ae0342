"""The device-facts reader on captured trees of a Raspberry Pi 4, a Raspberry Pi 5, a Jetson, and nothing."""

from __future__ import annotations

from pathlib import Path

from edgeconv.runtime.profiling.device_facts import decode_pi_throttled, read_device_facts, throttled_during

PI4_CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

processor\t: 1
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU part\t: 0xd08

processor\t: 2
CPU part\t: 0xd08

processor\t: 3
CPU part\t: 0xd08

Hardware\t: BCM2835
Revision\t: c03114
Serial\t\t: 100000002a9f8e66
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
"""

JETSON_RELEASE = ("# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, "
                  "DATE: Tue Aug  1 19:57:35 UTC 2023\n")
JETSON_CLOCKS = """SOC family:tegra234  Machine:NVIDIA Jetson AGX Orin Developer Kit
Online CPUs: 0-11
cpu0: Online=1 Governor=schedutil MinFreq=2201600 MaxFreq=2201600 CurrentFreq=2201600 IdleStates: WFI=0 c7=0
cpu1: Online=1 Governor=schedutil MinFreq=2201600 MaxFreq=2201600 CurrentFreq=2201600 IdleStates: WFI=0 c7=0
GPU MinFreq=1300500000 MaxFreq=1300500000 CurrentFreq=1300500000
EMC MinFreq=204000000 MaxFreq=3199000000 CurrentFreq=3199000000 FreqOverride=1
NV Power Mode: MAXN
"""


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def commands(outputs: dict[str, str]):  # noqa: ANN201
    """A command runner answering with captured stdout (None: the tool is not on this device)."""
    return lambda cmd: outputs.get(" ".join(cmd))


def cpufreq(governor: str, cur: int, lo: int, hi: int) -> dict[str, str]:
    base = "/sys/devices/system/cpu/cpu0/cpufreq"
    return {f"{base}/scaling_governor": f"{governor}\n", f"{base}/scaling_cur_freq": f"{cur}\n",
            f"{base}/scaling_min_freq": f"{lo}\n", f"{base}/scaling_max_freq": f"{hi}\n"}


def test_raspberry_pi_4(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "/proc/cpuinfo": PI4_CPUINFO,
        "/proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.4\x00",
        "/proc/meminfo": "MemTotal:        3885396 kB\nMemFree:          123456 kB\n",
        "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n',
        "/proc/sys/kernel/osrelease": "6.1.0-rpi7-rpi-v8\n",
        "/sys/class/thermal/thermal_zone0/type": "cpu-thermal\n",
        "/sys/class/thermal/thermal_zone0/temp": "48686\n",
        **cpufreq("ondemand", 1800000, 600000, 1800000),
    })
    facts = read_device_facts(root, commands({"vcgencmd get_throttled": "throttled=0x50005\n"}))
    assert facts["board"] == "raspberry_pi" and facts["board_model"] == "Raspberry Pi 4 Model B Rev 1.4"
    assert facts["cpu"] == {"model": "Raspberry Pi 4 Model B Rev 1.4", "cores": 4, "governor": "ondemand",
                            "freq_mhz": 1800, "freq_min_mhz": 600, "freq_max_mhz": 1800}
    assert facts["ram_mb"] == 3794 and facts["os"] == "Debian GNU/Linux 12 (bookworm)"
    state = facts["state"]
    assert state["temperatures_c"] == {"cpu-thermal": 48.686}
    assert state["pi_throttled"]["flags"] == ["under-voltage now", "throttled now", "under-voltage occurred",
                                              "throttling occurred"]


def test_raspberry_pi_5_throttling_during_a_run(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "/proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\x00",
        "/proc/cpuinfo": "processor\t: 0\nFeatures\t: fp asimd asimddp\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n",
        "/sys/class/thermal/thermal_zone0/type": "cpu-thermal\n",
        "/sys/class/thermal/thermal_zone0/temp": "61000\n",
        **cpufreq("ondemand", 2400000, 1500000, 2400000),
    })
    before = read_device_facts(root, commands({"vcgencmd get_throttled": "throttled=0x0\n"}))["state"]
    write_tree(root, {"/sys/class/thermal/thermal_zone0/temp": "85500\n", **cpufreq("ondemand", 1500000, 1500000,
                                                                                          2400000)})
    after = read_device_facts(root, commands({"vcgencmd get_throttled": "throttled=0xe0008\n"}))["state"]
    reasons = throttled_during(before, after)
    assert "Raspberry Pi firmware: soft temperature limit now" in reasons
    assert "Raspberry Pi firmware: throttling occurred" in reasons
    assert "CPU clock fell from 2400 to 1500 MHz" in reasons
    assert "temperature cpu-thermal at 86 C" in reasons
    assert throttled_during(before, before) == []


def test_jetson_orin(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "/etc/nv_tegra_release": JETSON_RELEASE,
        "/proc/device-tree/model": "NVIDIA Jetson AGX Orin Developer Kit\x00",
        "/proc/cpuinfo": "processor\t: 0\nmodel name\t: ARMv8 Processor rev 1 (v8l)\nprocessor\t: 1\n",
        "/sys/class/thermal/thermal_zone0/type": "CPU-therm\n",
        "/sys/class/thermal/thermal_zone0/temp": "45125\n",
        "/sys/class/thermal/thermal_zone1/type": "GPU-therm\n",
        "/sys/class/thermal/thermal_zone1/temp": "43500\n",
    })
    run = commands({
        "dpkg-query --showformat=${Version} --show nvidia-jetpack": "5.1.2-b104",
        "nvpmodel -q": "NV Power Mode: MAXN\n0\n",
        "jetson_clocks --show": JETSON_CLOCKS,
    })
    facts = read_device_facts(root, run)
    assert facts["board"] == "jetson"
    assert facts["jetson"] == {"l4t": "R35.4.1", "jetpack": "5.1.2-b104", "power_mode": "MAXN", "jetson_clocks": True}
    assert facts["state"]["temperatures_c"] == {"CPU-therm": 45.125, "GPU-therm": 43.5}
    assert facts["cpu"]["cores"] == 2
    unlocked = JETSON_CLOCKS.replace("MinFreq=2201600 MaxFreq", "MinFreq=729600 MaxFreq", 1)
    assert read_device_facts(root, commands({"jetson_clocks --show": unlocked}))["jetson"]["jetson_clocks"] is False


def test_any_other_machine_degrades_to_unknown(tmp_path: Path) -> None:
    facts = read_device_facts(tmp_path / "empty", commands({}))
    assert facts["board"] == "generic" and facts["board_model"] == "unknown"
    assert facts["cpu"]["model"] == "unknown" and facts["cpu"]["governor"] == "unknown"
    assert facts["ram_mb"] == "unknown" and facts["state"]["temperatures_c"] == {}
    assert decode_pi_throttled("vcgencmd: command not found") == {"raw": "unknown", "flags": []}
    here = read_device_facts()  # this machine: whatever it has, no exception
    assert here["python"] and "onnxruntime" in here["backends"]
