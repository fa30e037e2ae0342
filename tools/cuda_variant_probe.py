"""Before a GPU comparison: every conv variant trains a step and gives an ERF on CUDA; ms per step printed.

Fails fast (exit 1) when a variant breaks on the device, so a lease is not spent on shards that
would all fail the same way. Usage: python tools/cuda_variant_probe.py [--batch 64] [--crop 128]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F

import edgeconv.models  # noqa: F401 - registers the models
from edgeconv.erf import channel_gradient_erfs, gradient_erf
from edgeconv.models.nets.registry import create_model
from edgeconv.models.nets.resnet_cifar import CONV_VARIANTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 1
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    x = torch.randn(args.batch, 3, args.crop, args.crop, device="cuda")
    y = torch.randint(0, 10, (args.batch,), device="cuda")
    for variant in CONV_VARIANTS:
        model = create_model("texture_resnet18", num_classes=10, variant=variant, width=args.width).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for i in range(15):
            if i == 5:
                torch.cuda.synchronize()
                start = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        torch.cuda.synchronize()
        ms = (time.perf_counter() - start) / 10 * 1000
        erf = gradient_erf(model, x[:2, :, :64, :64].cpu(), "features", device="cuda")
        units = channel_gradient_erfs(model, x[:2, :, :64, :64].cpu(), [0, 5], device="cuda")
        assert erf.shape == (64, 64) and units.shape == (2, 64, 64)
        print(f"{variant:22s} {ms:7.1f} ms/step (batch {args.batch}, {args.crop} px)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
