"""Light image augmentation for training: small shifts, rotations and stroke-width changes.

Every random draw comes from the ``torch.Generator`` passed in, so a generator seeded
from the run's config gives the same batch every time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hqnn_core.errors import ShapeError

MAX_ROTATION_DEG = 10.0
MAX_SHIFT_FRACTION = 0.08  # of the image side: about 2 px at 28x28, under 1 px at 8x8
MAX_STROKE_MIX = 0.5  # how far towards a 3x3 dilation (or erosion) a stroke may move


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Randomly shift (up to 8% of the side), rotate (up to 10 degrees) and thicken or
    thin the strokes of each image in ``x`` ``(N, C, H, W)``; returns a new tensor.

    Images are assumed to show bright content on a dark (zero) background, as every
    dataset here does after loading; values stay in [0, 1].
    """
    if x.dim() != 4:
        raise ShapeError(f"augment_batch expects images shaped (N, C, H, W), got {tuple(x.shape)}.")
    n, _, h, w = x.shape
    if n == 0:
        return x.clone()
    draws = torch.rand(n, 4, generator=generator, device=generator.device).to(x.device)
    u = 2.0 * draws.to(x.dtype) - 1.0  # (N, 4) uniform in [-1, 1]
    angle = u[:, 0] * math.radians(MAX_ROTATION_DEG)
    # affine_grid works in normalised coordinates: a shift of s pixels is 2 s / side.
    tx = u[:, 1] * 2.0 * MAX_SHIFT_FRACTION
    ty = u[:, 2] * 2.0 * MAX_SHIFT_FRACTION
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin * h / w, tx], dim=1),
                         torch.stack([sin * w / h, cos, ty], dim=1)], dim=1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    dilated = F.max_pool2d(moved, kernel_size=3, stride=1, padding=1)
    eroded = -F.max_pool2d(-moved, kernel_size=3, stride=1, padding=1)
    mix = (u[:, 3] * MAX_STROKE_MIX).view(n, 1, 1, 1)  # >0 thickens, <0 thins
    target = torch.where(mix > 0, dilated, eroded)
    return (moved + mix.abs() * (target - moved)).clamp_(0.0, 1.0)
