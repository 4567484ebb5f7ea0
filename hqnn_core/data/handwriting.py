"""Find the ink in a person's image and redraw it the way MNIST or sklearn's digits were made.

Steps: pick the channel that carries the drawing (alpha when the background is
transparent, else luminance), detect polarity from the border pixels, subtract the
background and drop specks, crop to the ink's bounding box, bring the stroke width to the
dataset's typical width, scale into the dataset's box and centre it (MNIST: fit 20x20
keeping the aspect ratio, centre of mass at pixel (14, 14) of 28x28; digits: fit 32x32,
centre by mass, count ink in 4x4 blocks to 8x8 values in sixteenths).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

MAX_SIDE = 512  # larger inputs are downscaled first
MIN_CONTRAST = 0.08  # less ink-to-background contrast than this is an empty drawing
INK_LEVEL = 0.25  # ink above this counts for components and the bounding box
MIN_COMPONENT = 0.05  # components lighter than this share of the heaviest one are specks
WORK_SIDE = 80  # the cropped ink is brought to this size before stroke-width changes
# Typical stroke width as a fraction of the ink's longer side, measured with
# ``stroke_width`` on MNIST digits (median) and fitted on sklearn's digits (mean ink).
MNIST_STROKE = 0.137
DIGITS_STROKE = 0.165
STROKE_TOLERANCE = 1.3  # widths within this factor of typical are left alone (MNIST 15-85%)
MNIST_SIDE, MNIST_BOX, MNIST_CENTRE = 28, 20, 14.0
DIGITS_BITMAP, DIGITS_BLOCK = 32, 4
# sklearn's digits have their mean centre of mass at about (3.48, 3.57) of 8x8, i.e. near
# (15.4, 15.8) of the 32x32 bitmap; (15.5, 16.0) matched redrawn digits best.
DIGITS_CENTRE = (15.5, 16.0)


def ink_map(arr: np.ndarray) -> np.ndarray:
    """``(H, W, K)`` float image in [0, 1] -> ``(H, W)`` ink strength in [0, 1] (1 = ink)."""
    k = arr.shape[2]
    colour = arr[:, :, :-1] if k in (2, 4) else arr
    if k in (2, 4):
        alpha = arr[:, :, -1]
        if np.median(_border(alpha)) < 0.5:  # transparent background: the alpha is the drawing
            return _clean(_normalise(_shrink(alpha)))
        colour = colour * alpha[:, :, None] + (1.0 - alpha[:, :, None])  # flatten on white
    if colour.shape[2] == 3:
        signal = colour @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    else:
        signal = colour[:, :, 0]
    return _clean(_normalise(_shrink(signal)))


def _shrink(signal: np.ndarray) -> np.ndarray:
    h, w = signal.shape
    if max(h, w) <= MAX_SIDE:
        return signal.astype(np.float32)
    return _resize_fit(signal.astype(np.float32), MAX_SIDE)


def _border(signal: np.ndarray) -> np.ndarray:
    b = max(1, round(0.04 * min(signal.shape)))
    return np.concatenate([signal[:b].ravel(), signal[-b:].ravel(),
                           signal[:, :b].ravel(), signal[:, -b:].ravel()])


def _normalise(signal: np.ndarray) -> np.ndarray:
    """Background 0, ink 1: the polarity is whichever extreme lies farther from the border."""
    border = _border(signal)
    bg = float(np.median(border))
    dark_ink = bg - float(signal.min()) > float(signal.max()) - bg
    raw = bg - signal if dark_ink else signal - bg
    peak = ndimage.uniform_filter(raw, 3) if min(raw.shape) >= 100 else raw
    scale = float(peak.max())
    if scale < MIN_CONTRAST:
        return np.zeros_like(signal)
    noise = 1.4826 * float(np.median(np.abs(border - bg)))
    t = min(0.5, max(0.05, 4.0 * noise / scale))
    return np.clip((raw / scale - t) / (1.0 - t), 0.0, 1.0).astype(np.float32)


def _clean(ink: np.ndarray) -> np.ndarray:
    """Drop specks: keep components of at least ``MIN_COMPONENT`` of the heaviest one's ink."""
    labels, n = ndimage.label(ink > INK_LEVEL, structure=np.ones((3, 3)))
    if n == 0:
        return np.zeros_like(ink)
    mass = ndimage.sum(ink, labels, index=np.arange(1, n + 1))
    keep = np.flatnonzero(mass >= MIN_COMPONENT * mass.max()) + 1
    near = ndimage.binary_dilation(np.isin(labels, keep), iterations=2)
    return ink * near


def _crop(ink: np.ndarray) -> np.ndarray | None:
    rows = np.flatnonzero((ink > INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((ink > INK_LEVEL).any(axis=0))
    if len(rows) == 0:
        return None
    return ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def _resize_fit(a: np.ndarray, side: int) -> np.ndarray:
    """Scale ``a`` so its longer side is ``side`` pixels, keeping the aspect ratio."""
    h, w = a.shape
    scale = side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]
    out = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out[0, 0].clamp(0.0, 1.0).numpy()


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: twice the ink area over its boundary length."""
    solid = ink > 0.5
    edge = solid & ~ndimage.binary_erosion(solid)
    return 2.0 * float(solid.sum()) / max(float(edge.sum()), 1.0)


def _disk(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius: radius + 1, -radius: radius + 1]
    return (yy**2 + xx**2) <= radius**2 + radius


def _normal_stroke(ink: np.ndarray, fraction: float) -> np.ndarray:
    """Crop, bring to ``WORK_SIDE``, erode thick or dilate thin strokes, crop again."""
    crop = _crop(ink)
    if crop is None:
        return np.zeros((1, 1), np.float32)
    work = np.pad(_resize_fit(crop, WORK_SIDE), WORK_SIDE // 4)
    width, target = stroke_width(work), fraction * WORK_SIDE
    radius = round(abs(width - target) / 2)
    if radius >= 1 and width > target * STROKE_TOLERANCE:
        work = ndimage.grey_erosion(work, footprint=_disk(radius))
    elif radius >= 1 and width < target / STROKE_TOLERANCE:
        work = ndimage.grey_dilation(work, footprint=_disk(radius))
    again = _crop(work)
    return crop if again is None else again


def mnist_recipe(ink: np.ndarray) -> np.ndarray:
    """Ink map -> 28x28 float32: fit 20x20 keeping aspect, centre of mass at (14, 14)."""
    out = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    if not (ink > INK_LEVEL).any():
        return out
    small = _resize_fit(_normal_stroke(ink, MNIST_STROKE), MNIST_BOX)
    small = small / max(float(small.max()), 1e-6)
    h, w = small.shape
    cy, cx = ndimage.center_of_mass(small)
    top = min(max(int(round(MNIST_CENTRE - cy)), 0), MNIST_SIDE - h)
    left = min(max(int(round(MNIST_CENTRE - cx)), 0), MNIST_SIDE - w)
    out[top: top + h, left: left + w] = small
    return out


def digits_recipe(ink: np.ndarray) -> np.ndarray:
    """Ink map -> 8x8 float32 in sixteenths, the way sklearn's digits were made.

    The ink is fitted into a 32x32 bitmap (aspect kept), binarised, placed with its centre
    of mass where the dataset's digits have theirs on average, and the set pixels of each
    4x4 block counted.
    """
    side = DIGITS_BITMAP // DIGITS_BLOCK
    if not (ink > INK_LEVEL).any():
        return np.zeros((side, side), np.float32)
    bits = (_resize_fit(_normal_stroke(ink, DIGITS_STROKE), DIGITS_BITMAP) > 0.5).astype(np.float32)
    if not bits.any():
        return np.zeros((side, side), np.float32)
    h, w = bits.shape
    cy, cx = ndimage.center_of_mass(bits)
    top = min(max(int(round(DIGITS_CENTRE[0] - cy)), 0), DIGITS_BITMAP - h)
    left = min(max(int(round(DIGITS_CENTRE[1] - cx)), 0), DIGITS_BITMAP - w)
    bitmap = np.zeros((DIGITS_BITMAP, DIGITS_BITMAP), np.float32)
    bitmap[top: top + h, left: left + w] = bits
    blocks = bitmap.reshape(side, DIGITS_BLOCK, side, DIGITS_BLOCK).sum(axis=(1, 3))
    return (blocks / DIGITS_BLOCK**2).astype(np.float32)
