"""The photo-model frontier: each checkpoint's PSNR-Y gain over bicubic upscaling under every protocol.

Scored on the BSD200 validation split (what runs are chosen by) and on Set5 (reported only, never used to
choose); the frontier is the bicubic-protocol gain against the worst-protocol gain. Writes JSON beside the
printed table.

Usage: python tools/sr_frontier_table.py OUT.json CHECKPOINT.pt... [--val runs/data/bsd200_val] [--set5 DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.data.sr import load_sr_dataset
from edgeconv.models.training.sr import ProtocolGains
from edgeconv.runtime.imaging.degradations import PROTOCOLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--val", type=Path, default=Path("runs/data/bsd200_val"))
    parser.add_argument("--set5", type=Path, default=Path("../shared/data/sr/Set5"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    folders = {"val": args.val, "set5": args.set5}
    sets = {name: ProtocolGains(load_sr_dataset(folder, 2), 2) for name, folder in folders.items()}
    rows = []
    for path in args.checkpoints:
        ckpt = load_checkpoint(path)
        model = ckpt.build_model(path).eval()
        with torch.no_grad():
            gains = {name: gains.gains(model) for name, gains in sets.items()}
        rows.append({"checkpoint": str(path), "degradation": ckpt.train_args.get("degradation", "bicubic"),
                     "steps": ckpt.train_args.get("steps"), "gains": gains,
                     "worst": {k: min(g.values()) for k, g in gains.items()}})
        print(f"{path.name}: " + "  ".join(f"{k} worst {min(g.values()):+.2f} bicubic {g['bicubic']:+.2f} "
                                          f"aliased {g['cubic-aliased']:+.2f}" for k, g in gains.items()), flush=True)
    header = "checkpoint".ljust(40) + "".join(p[:8].rjust(9) for p in PROTOCOLS) + "    worst"
    for split in ("val", "set5"):
        print(f"\ngain over bicubic upscaling, dB ({split})\n{header}")
        for row in rows:
            g = row["gains"][split]
            print(Path(row["checkpoint"]).name[:40].ljust(40) + "".join(f"{g[p]:+9.2f}" for p in PROTOCOLS)
                  + f"{row['worst'][split]:+9.2f}")
    args.out.write_text(json.dumps({"protocols": list(PROTOCOLS), "rows": rows}, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
