"""ResNet-18 for 32x32 inputs (CIFAR-100) whose 3x3 convolutions can be any edgeconv variant.

Everything but the 3x3 convs is identical across variants (stem, widths, strides, BN, head), so
accuracy differences are the conv's doing. Variants:
``plain``, ``jitter-random``, ``jitter-channel``, ``jitter-subpixel``, ``jitter-learnable``,
``shiftwise``, ``shiftwise-diagonal``, ``shiftwise-rotational`` (ShiftwiseConv emulating
``large_kernel``), and ``large-kernel`` (a real depthwise ``large_kernel`` conv + pointwise, the
baseline ShiftwiseConv emulates). The stem conv stays plain in every variant.
"""

from __future__ import annotations

from torch import Tensor, nn

from edgeconv.errors import LayerArgumentError
from edgeconv.jitter_conv import JitterConv
from edgeconv.models.nets.registry import register_model
from edgeconv.shiftwise_conv import ShiftwiseConv

CONV_VARIANTS = (
    "plain",
    "jitter-random",
    "jitter-channel",
    "jitter-subpixel",
    "jitter-learnable",
    "shiftwise",
    "shiftwise-diagonal",
    "shiftwise-rotational",
    "large-kernel",
)


class DepthwiseLargeKernel(nn.Module):
    """Real depthwise K x K conv, BN, then a pointwise mix: what ShiftwiseConv emulates."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, kernel_size, padding=kernel_size // 2, groups=cin, bias=False)
        self.bn = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.bn(self.depthwise(x)))


def conv3x3(variant: str, cin: int, cout: int, stride: int = 1, large_kernel: int = 13) -> nn.Module:
    """The 3x3 conv slot of a ResNet block, filled by ``variant`` (no bias: BN follows)."""
    if variant == "plain":
        return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
    if variant.startswith("jitter-"):
        return JitterConv(cin, cout, 3, stride, bias=False, mode=variant.removeprefix("jitter-"))
    if variant.startswith("shiftwise"):
        return ShiftwiseConv(
            cin, cout, kernel_size=large_kernel, stride=stride, bias=False,
            diagonal=variant == "shiftwise-diagonal", rotation=variant == "shiftwise-rotational",
        )
    if variant == "large-kernel":
        return DepthwiseLargeKernel(cin, cout, large_kernel, stride)
    raise LayerArgumentError("conv3x3", f"conv variant {variant!r} is not one of {', '.join(CONV_VARIANTS)}")


class BasicBlock(nn.Module):
    """Two conv slots with BN and ReLU, identity or 1x1-projection shortcut."""

    def __init__(self, variant: str, cin: int, cout: int, stride: int, large_kernel: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(variant, cin, cout, stride, large_kernel)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(variant, cout, cout, 1, large_kernel)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-18 layout (2-2-2-2 blocks) with a 3x3 stride-1 stem for 32x32 images."""

    def __init__(
        self, num_classes: int = 100, variant: str = "plain", width: int = 64, large_kernel: int = 13,
        stem_stride: int = 1,
    ) -> None:
        super().__init__()
        if variant not in CONV_VARIANTS:
            raise LayerArgumentError(
                "ResNetCifar", f"conv variant {variant!r} is not one of {', '.join(CONV_VARIANTS)}")
        if stem_stride not in (1, 2):
            raise LayerArgumentError(
                "ResNetCifar", f"stem_stride must be 1 (32 px inputs) or 2 (~100 px inputs), got {stem_stride}")
        self.variant = variant
        stem = nn.Conv2d(3, width, 3, stem_stride, 1, bias=False)
        self.stem = nn.Sequential(stem, nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for i, blocks in enumerate((2, 2, 2, 2)):
            cout = width * 2**i
            for b in range(blocks):
                stride = 2 if (i > 0 and b == 0) else 1
                layers.append(BasicBlock(variant, cin, cout, stride, large_kernel))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(cin, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """The last feature map (N, 8 * width, H / 8, W / 8), what ERF analysis differentiates."""
        return self.layers(self.stem(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


@register_model
def resnet18_cifar(
    num_classes: int = 100, variant: str = "plain", width: int = 64, large_kernel: int = 13
) -> ResNetCifar:
    """ResNet-18 for CIFAR-100 with the chosen 3x3 conv variant."""
    return ResNetCifar(num_classes, variant, width, large_kernel)


@register_model
def texture_resnet18(
    num_classes: int = 47, variant: str = "plain", width: int = 64, large_kernel: int = 13, stem_stride: int = 1
) -> ResNetCifar:
    """The same backbone as a texture classifier over image-folder classes (DTD has 47); ``stem_stride=2``
    halves the resolution at the stem for ~100 px inputs (the last map is then 1/16 of the input)."""
    return ResNetCifar(num_classes, variant, width, large_kernel, stem_stride)
