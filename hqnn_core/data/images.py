"""Images from people: safe decoding of uploads and the preprocessing that makes a drawn,
photographed or scanned digit look like the data a model was trained on.

``read_image`` turns bytes into a PIL image or raises ``DataError`` (never a traceback).
``prepare_image`` turns any PIL image or canvas array into a ``(C, H, W)`` float32 tensor
in [0, 1]: style ``"mnist"`` applies the MNIST recipe, ``"digits"`` the recipe of
scikit-learn's 8x8 digits, ``"plain"`` just converts and resizes. The ink-finding steps
live in ``hqnn_core.data.handwriting``.
"""

from __future__ import annotations

import io
import math
import struct
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from hqnn_core.errors import DataError, ShapeError
from hqnn_core.data.handwriting import digits_recipe, ink_map, mnist_recipe

__all__ = ["read_image", "prepare_image", "default_style", "STYLES"]

STYLES = ("mnist", "digits", "plain")
# The one place that says which style a dataset's images were made in (others: "plain").
DATASET_STYLES = {"digits": "digits", "mnist": "mnist"}
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # well under Pillow's own decompression-bomb limit
MAX_WORK_SIDE = 1024  # larger images are block-averaged down before any float work

ImageLike = Union[Image.Image, np.ndarray]


def _unreadable(reason: str) -> DataError:
    return DataError(
        f"The upload is not an image Pillow can read ({reason}); upload a PNG or JPEG.")


def read_image(data: bytes) -> Image.Image:
    """Decode uploaded bytes into a fully loaded PIL image (EXIF rotation applied).

    Raises ``DataError`` for empty, garbage, truncated or absurdly large input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _unreadable(f"got {type(data).__name__}, not bytes")
    if len(data) == 0:
        raise _unreadable("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _unreadable(f"{len(data) / 1e6:.0f} MB is more than the 25 MB limit")
    try:
        img = Image.open(io.BytesIO(bytes(data)))
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise _unreadable(f"{width}x{height} pixels is more than the 40-megapixel limit")
        img.load()
        img = ImageOps.exif_transpose(img)
    except DataError:
        raise
    except Image.DecompressionBombError:
        raise _unreadable("it decompresses to far too many pixels") from None
    except UnidentifiedImageError:
        raise _unreadable("unknown or damaged format") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise _unreadable(f"damaged or truncated: {exc}") from None
    return img


def default_style(dataset_name: str) -> str:
    """The ``prepare_image`` style that matches how a dataset's images were made."""
    return DATASET_STYLES.get(dataset_name, "plain")


def prepare_image(img: ImageLike, *, image_shape: tuple[int, int, int] = (1, 28, 28),
                  style: str = "mnist") -> torch.Tensor:
    """Turn a person's image into a model input ``(C, H, W)`` float32 in [0, 1].

    ``img`` is a PIL image or an ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` array (uint8,
    or float in [0, 1]) such as a drawing canvas returns. Styles: ``"mnist"`` (ink found
    whatever its polarity or channel, cropped, scaled into 20x20, centred by mass in
    28x28), ``"digits"`` (the same for scikit-learn's 8x8 digits), ``"plain"`` (convert
    and resize only). A drawing with no ink gives an all-zero tensor.
    """
    if style not in STYLES:
        raise DataError(f"Unknown image style {style!r}; choose one of: {', '.join(STYLES)}.")
    shape = _check_shape(image_shape)
    arr = _as_array(img)  # (H, W, K) float32 in [0, 1]
    if style == "plain":
        return _plain(arr, shape)
    ink = ink_map(arr)  # (H, W) in [0, 1], 1 = ink
    out = mnist_recipe(ink) if style == "mnist" else digits_recipe(ink)  # (h, w)
    return _fit(torch.from_numpy(out)[None], shape)


def _check_shape(image_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in image_shape)
    if len(shape) != 3 or shape[0] not in (1, 3) or min(shape[1:]) < 1:
        raise ShapeError(f"image_shape must be (C, H, W) with C 1 or 3, got {image_shape!r}.")
    return shape  # type: ignore[return-value]


def _as_array(img: ImageLike) -> np.ndarray:
    """(H, W, K) float32 in [0, 1]; K is 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA)."""
    if isinstance(img, Image.Image):
        if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit scans: keep the range
            return _as_array(_wide_to_unit(np.asarray(img)))
        if img.mode in ("1", "L"):
            img = img.convert("L")
        elif img.mode in ("LA", "La"):
            img = img.convert("LA")
        elif img.mode in ("RGBA", "RGBa", "PA") or "transparency" in img.info:
            img = img.convert("RGBA")
        else:
            img = img.convert("RGB")
        if max(img.size) > MAX_WORK_SIDE:  # a phone photo: average blocks before converting
            img = img.reduce(math.ceil(max(img.size) / MAX_WORK_SIDE))
        arr = np.asarray(img, dtype=np.float32) / 255.0
    elif isinstance(img, np.ndarray):
        arr = np.asarray(img)
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        elif np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
            arr = np.clip(arr.astype(np.float32), 0.0, 1.0)
        else:
            raise DataError(f"Cannot read an image array of dtype {arr.dtype}; pass uint8 pixels.")
    else:
        raise DataError(f"Expected a PIL image or a numpy array, got {type(img).__name__}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or min(arr.shape[:2]) < 1:
        raise DataError(f"An image array must be (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _wide_to_unit(arr: np.ndarray) -> np.ndarray:
    """16- or 32-bit pixel values scaled to [0, 1] by the range their type suggests."""
    arr = arr.astype(np.float32)
    peak = float(arr.max(initial=0.0))
    return arr / (65535.0 if peak > 255 else 255.0 if peak > 1 else 1.0)


def _plain(arr: np.ndarray, shape: tuple[int, int, int]) -> torch.Tensor:
    """Flatten transparency onto white, convert channels, resize."""
    k = arr.shape[2]
    if k in (2, 4):
        alpha = arr[:, :, -1:]
        arr = arr[:, :, :-1] * alpha + (1.0 - alpha)
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))  # (K, H, W)
    if shape[0] == 1 and t.shape[0] == 3:
        t = torch.einsum("chw,c->hw", t, torch.tensor([0.299, 0.587, 0.114])).unsqueeze(0)
    return _fit(t, shape)


def _fit(t: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Resize ``(K, h, w)`` to ``shape`` (antialiased bilinear) and match its channels."""
    c, h, w = shape
    if tuple(t.shape[1:]) != (h, w):
        t = F.interpolate(t[None], size=(h, w), mode="bilinear", antialias=True,
                          align_corners=False)[0]
    if t.shape[0] != c:
        t = t.expand(c, h, w) if t.shape[0] == 1 else t.mean(0, keepdim=True)
    return t.clamp(0.0, 1.0).to(torch.float32).contiguous()
