"""The device side of edgeconv: numpy, pillow and the back ends' own packages, never torch."""

from edgeconv.runtime.imaging.luma import luma_255
from edgeconv.runtime.validation.sr_metrics import psnr_y, ssim_y

__all__ = ["luma_255", "psnr_y", "ssim_y"]
