"""Regenerate the sample digits in this folder: ``python assets/samples/make_samples.py``.

Every image is drawn here with PIL strokes or taken from scikit-learn's bundled 8x8
digits; none comes from MNIST. The output is deterministic (fixed seeds).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

Point = tuple[float, float]


def _strokes(size: tuple[int, int], strokes: list[list[Point]], width: int, ink: int,
             paper: int, seed: int, offset: Point = (0.0, 0.0), scale: float = 1.0) -> Image.Image:
    """Polylines in a 0..1 box, slightly jittered like a hand, on a plain background."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = Image.new("L", size, paper)
    draw = ImageDraw.Draw(img)
    side = min(w, h) * scale
    for stroke in strokes:
        wobble = rng.normal(0, side * 0.012, (2, 2))  # a slow drift along the stroke
        n = max(len(stroke) - 1, 1)
        pts = [(offset[0] * w + x * side + wobble[0, 0] * np.sin(3 * i / n + wobble[0, 1]),
                offset[1] * h + y * side + wobble[1, 0] * np.sin(3 * i / n + wobble[1, 1]))
               for i, (x, y) in enumerate(stroke)]
        draw.line(pts, fill=ink, width=width, joint="curve")
        r = width / 2
        for x, y in (pts[0], pts[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return img


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float,
         n: int = 24) -> list[Point]:
    t = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


def _photo(img: Image.Image, seed: int) -> Image.Image:
    """Make a dark-on-light drawing look photographed: uneven light, blur, sensor noise."""
    rng = np.random.default_rng(seed)
    a = np.asarray(img.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32) / 255.0
    h, w = a.shape
    light = 0.78 + 0.18 * np.linspace(0, 1, w)[None, :] - 0.08 * np.linspace(0, 1, h)[:, None]
    rgb = np.stack([a * light * c for c in (1.0, 0.97, 0.9)], axis=-1)
    rgb += rng.normal(0, 0.012, (h, w, 1))
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")


def make_all() -> dict[str, Image.Image]:
    """Every sample image by file name."""
    three = [_arc(0.5, 0.3, 0.22, 0.17, -160, 90), _arc(0.5, 0.66, 0.25, 0.2, -90, 150)]
    seven = [[(0.25, 0.2), (0.78, 0.2), (0.45, 0.88)], [(0.38, 0.55), (0.68, 0.55)]]
    zero = [_arc(0.5, 0.5, 0.24, 0.36, 0, 360, 48)]
    four = [[(0.62, 0.85), (0.62, 0.12), (0.2, 0.62), (0.8, 0.62)]]
    one = [[(0.38, 0.28), (0.55, 0.12), (0.55, 0.9)]]

    paper = _strokes((160, 160), three, 22, ink=35, paper=236, seed=3)
    samples = {
        "digit-3-thick.png": paper.convert("RGB"),
        "digit-7-photo.png": _photo(_strokes((128, 96), seven, 5, 40, 250, seed=7,
                                             offset=(0.2, 0.05), scale=0.9), seed=7),
        "digit-4-chalk.png": _strokes((140, 140), four, 10, ink=230, paper=25, seed=4),
        "digit-1-offcentre.png": _strokes((200, 150), one, 6, ink=20, paper=245, seed=1,
                                          offset=(0.05, 0.0), scale=0.55),
    }
    alpha = _strokes((180, 180), zero, 16, ink=255, paper=0, seed=0)
    canvas = Image.new("RGBA", alpha.size, (0, 0, 0, 0))
    canvas.putalpha(alpha)  # black ink in the alpha channel, like a transparent drawing canvas
    samples["digit-0-canvas.png"] = canvas

    from sklearn.datasets import load_digits

    bunch = load_digits()
    five = np.pad(bunch.images[bunch.target == 5][3] / 16.0, 2)  # (12, 12) in [0, 1]
    small = Image.fromarray((255 - five * 255).astype(np.uint8))
    samples["digit-5-sklearn.png"] = small.resize((96, 96), Image.Resampling.BICUBIC).filter(
        ImageFilter.GaussianBlur(2.5))
    return samples


def main() -> None:
    """Write every sample PNG beside this script."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, img in make_all().items():
        img.save(HERE / name, optimize=True)
        log.info("%s %s %d bytes", name, img.mode, (HERE / name).stat().st_size)


if __name__ == "__main__":
    main()
