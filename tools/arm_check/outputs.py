"""Raw outputs of models on back ends, through edgeconv's runtime: run on x86 and on emulated aarch64, then compared.

Usage: python outputs.py OUT.npz IMAGES_DIR MODEL.onnx... (writes OUT.npz and OUT.json with refusals/errors).
Runs with the runtime-only install (no torch). Exits with os._exit: OpenVINO's threads can hang at
interpreter shutdown under qemu-user.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    from edgeconv.errors import EdgeConvError
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.imaging.images import image_files, read_image
    from edgeconv.runtime.model_facts import read_model_facts

    out, images, models = Path(sys.argv[1]), Path(sys.argv[2]), [Path(m) for m in sys.argv[3:]]
    crops = [read_image(p)[:96, :96] for p in image_files(images)[:3]]
    arrays: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    for model in models:
        facts = read_model_facts(model)
        x = np.concatenate([facts.to_input(c) for c in crops])
        for backend in ("onnxruntime", "openvino"):
            key = f"{model.name}|{backend}"
            try:
                arrays[key] = create_backend(backend, model, BackendOptions(threads=2)).run(x)
                notes[key] = "ran"
            except EdgeConvError as exc:
                notes[key] = exc.one_line()
    np.savez(out, **arrays)
    out.with_suffix(".json").write_text(json.dumps(notes, indent=2))


if __name__ == "__main__":
    code = 0
    try:
        main()
    except Exception:  # noqa: BLE001 - reported, then the hard exit below
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
