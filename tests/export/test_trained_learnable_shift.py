"""A learnable-shift model trained on a real image task: shifts move, deploy form still matches."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

from edgeconv.export import to_deploy
from edgeconv.export.graph.trace import export_onnx
from edgeconv.jitter_conv import JitterConv


class TinyRestorer(nn.Module):
    """Grey 2x super-resolution on the bicubic upsample: conv -> learnable jitter -> conv."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, 8, 3, padding=1)
        self.jitter = JitterConv(8, 8, mode="learnable", max_shift=2, init_shift=0.5)
        self.bn = nn.BatchNorm2d(8)
        self.tail = nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.tail(torch.relu(self.bn(self.jitter(torch.relu(self.head(x))))))


def test_learnable_shifts_move_on_real_images_and_deploy_matches(astronaut: np.ndarray) -> None:
    torch.manual_seed(0)
    grey = torch.from_numpy(astronaut.astype(np.float32).mean(axis=2) / 255.0)[None, None]
    hr = grey[..., 64:320, 128:384]  # 256x256 of the photograph
    lr = F.interpolate(hr, scale_factor=0.5, mode="bicubic", align_corners=False)
    up = F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
    crops = [(y, x) for y in range(0, 192, 48) for x in range(0, 192, 48)]

    model = TinyRestorer()
    start = model.jitter.shift.detach().clone()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(40):
        y, x = crops[step % len(crops)]
        pred = model(up[..., y : y + 64, x : x + 64])
        loss = F.l1_loss(pred, hr[..., y : y + 64, x : x + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    moved = (model.jitter.shift.detach() - start).abs()
    assert moved.max() > 0.05, f"shifts barely moved: {moved.max():.4f}"
    assert np.mean(losses[-8:]) < np.mean(losses[:8])

    model.eval()
    deployed = to_deploy(model)
    with torch.no_grad():
        expected = model(up)
        torch.testing.assert_close(deployed(up), expected, atol=1e-5, rtol=0)
    proto = export_onnx(deployed, up)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": up.numpy()})[0]
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=0)
