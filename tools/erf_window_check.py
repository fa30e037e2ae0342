"""Does a trained dtd10 net's ERF fit its window? Border share and r(50 %) at the run's window and reflect-padded.

A field that fits keeps its size in pixels when the window grows (r50 as a share falls, the border share
goes to 0); one that fills any window keeps its shares. Usage (after `edgeconv compare --tasks dtd10`):
  python tools/erf_window_check.py runs/dtd10 plain shiftwise --pad 80 --images 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from edgeconv.models.checkpoints.erf import checkpoint_gradient_erf
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.research.compare import CompareSettings, erf_inputs
from edgeconv.research.dtd_task import shared_dtd10
from edgeconv.runtime.erf.measures import border_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="the compare --out folder")
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pad", type=int, default=80, help="reflect padding on each side, px")
    parser.add_argument("--images", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| variant | window px | border share | r50 % | r99 % |\n|---|---|---|---|---|")
    for variant in args.variants:
        ckpt = args.runs / "dtd10" / variant / f"seed{args.seed}.pt"
        train = load_checkpoint(ckpt).train_args
        load = train["load_size"] or train["image_size"]
        settings = CompareSettings("dtd10", args.runs, [], [0], 1, shared_dtd10(), crop=train["image_size"],
                                   load_size=load, erf_size=load, erf_count=args.images)
        x = erf_inputs(settings)
        for pad in (0, args.pad):
            xi = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="reflect") if pad else x
            result = checkpoint_gradient_erf(ckpt, np.ascontiguousarray(xi))
            print(f"| {variant} | {xi.shape[-1]} | {border_share(result.contributions):.3f} | "
                  f"{100 * result.measures.r50:.1f} | {100 * result.measures.r99:.1f} |")


if __name__ == "__main__":
    main()
