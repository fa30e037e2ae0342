"""Gains over bicubic upscaling of SR checkpoints on the BSD200 split, every protocol plus soft content.

What a photo-model candidate is judged by before it ships (never Set5, never a video it is scored on):
``python tools/photo_split_gains.py CKPT [CKPT ...] [--val runs/data/bsd200_val]``. Prints one row per
checkpoint: the gain under each protocol (h264 at CRF 23) and on the soft images (HR blurred, sigma 1),
and the worst of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.data.sr import load_hr_folder
from edgeconv.models.training.sr import SOFT_SCORED, ProtocolGains
from edgeconv.runtime.imaging.degradations import ALL_PROTOCOLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--val", type=Path, default=Path("runs/data/bsd200_val"))
    args = parser.parse_args()
    scale = load_checkpoint(args.checkpoints[0]).scale
    gains = ProtocolGains(load_hr_folder(args.val, scale, keep_grey=True), scale, ALL_PROTOCOLS, SOFT_SCORED)
    names = list(gains.sets)
    print("| checkpoint | " + " | ".join(names) + " | worst |")
    print("|---" * (len(names) + 2) + "|")
    for path in args.checkpoints:
        checkpoint = load_checkpoint(path)
        if checkpoint.scale != scale:
            raise SystemExit(f"{path} | is x{checkpoint.scale}, the first checkpoint x{scale}")
        by = gains.gains(checkpoint.build_model(path))
        worst = min(by, key=by.get)
        print(f"| {path.name} | " + " | ".join(f"{by[n]:+.2f}" for n in names) + f" | {by[worst]:+.2f} ({worst}) |")


if __name__ == "__main__":
    main()
