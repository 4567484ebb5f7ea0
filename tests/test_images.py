"""Uploads and real handwriting: read_image never gives a traceback, prepare_image turns
thick, off-centre, inverted or canvas-alpha digits into what the models were trained on,
and augment_batch is deterministic for a generator."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageFilter
from scipy import ndimage

from hqnn_core.data.augment import augment_batch
from hqnn_core.errors import DataError, ShapeError
from hqnn_core.data.images import default_style, prepare_image, read_image
from hqnn_core.data.sources import load_digits_raw, read_idx


def _mnist_test_digits(n: int = 12) -> np.ndarray | None:
    env = os.environ.get("HQNN_MNIST_ROOT")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared/data/mnist-10k"
    path = root / "MNIST/raw/t10k-images-idx3-ubyte"
    return read_idx(path)[:n] if path.is_file() else None


MNIST_DIGITS = _mnist_test_digits()
needs_mnist = pytest.mark.skipif(
    MNIST_DIGITS is None,
    reason="offline MNIST not found beside the repo (shared/data/mnist-10k) nor at HQNN_MNIST_ROOT",
)


def _png(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


def _mass_centre(t: torch.Tensor) -> tuple[float, float]:
    cy, cx = ndimage.center_of_mass(t[0].numpy())
    return float(cy), float(cx)


# --- read_image ------------------------------------------------------------------------

def test_read_image_round_trips_png_and_jpeg() -> None:
    img = Image.new("RGB", (30, 20), (10, 200, 30))
    for fmt in ("PNG", "JPEG"):
        out = read_image(_png(img, fmt))
        assert out.size == (30, 20)
        assert np.asarray(out).shape == (20, 30, 3)


@pytest.mark.parametrize("payload", [
    b"",
    b"this is not an image at all",
    _png(Image.new("RGB", (64, 64), "white"))[:60],
    _png(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG")[:300],
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
])
def test_read_image_refuses_garbage_empty_and_truncated(payload: bytes) -> None:
    with pytest.raises(DataError, match=r"not an image Pillow can read .*upload a PNG or JPEG\.$"):
        read_image(payload)


def test_read_image_refuses_a_decompression_bomb() -> None:
    bomb = _png(Image.new("1", (8000, 8000)))  # 64 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(DataError, match="megapixel"):
        read_image(bomb)


def test_read_image_refuses_non_bytes() -> None:
    with pytest.raises(DataError, match="not bytes"):
        read_image("digit.png")  # type: ignore[arg-type]


# --- prepare_image: shapes and styles -------------------------------------------------

@pytest.mark.parametrize("style, shape", [
    ("mnist", (1, 28, 28)), ("mnist", (1, 16, 16)), ("mnist", (3, 28, 28)),
    ("digits", (1, 8, 8)), ("plain", (3, 32, 32)), ("plain", (1, 28, 28)),
])
def test_prepare_image_shapes_dtypes_ranges(style: str, shape: tuple[int, int, int]) -> None:
    img = Image.new("RGB", (50, 40), "white")
    img.paste((0, 0, 0), (20, 5, 28, 35))
    out = prepare_image(img, image_shape=shape, style=style)
    assert tuple(out.shape) == shape and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_unknown_style_and_bad_shape_are_clear_errors() -> None:
    with pytest.raises(DataError, match="mnist, digits, plain"):
        prepare_image(Image.new("L", (8, 8)), style="fancy")
    with pytest.raises(ShapeError, match="C, H, W"):
        prepare_image(Image.new("L", (8, 8)), image_shape=(2, 8, 8))


@pytest.mark.parametrize("blank", [
    np.zeros((120, 90, 4), np.uint8),  # an untouched transparent canvas
    Image.new("RGB", (64, 64), "white"),
    Image.new("L", (64, 64), 0),
    Image.new("L", (64, 64), 128),
])
@pytest.mark.parametrize("style", ["mnist", "digits"])
def test_an_empty_drawing_gives_zeros(blank: object, style: str) -> None:
    shape = (1, 8, 8) if style == "digits" else (1, 28, 28)
    out = prepare_image(blank, image_shape=shape, style=style)  # type: ignore[arg-type]
    assert float(out.abs().sum()) == 0.0


def test_default_style_per_dataset() -> None:
    assert default_style("digits") == "digits" and default_style("mnist") == "mnist"
    assert default_style("cifar10") == "plain" and default_style("folder") == "plain"


def test_sixteen_bit_scans_keep_their_range() -> None:
    page = np.full((60, 60), 60000, np.uint16)
    page[10:50, 28:33] = 9000  # a dark "1" on a bright 16-bit scan
    out = prepare_image(Image.fromarray(page))
    assert float(out.max()) == 1.0 and abs(_mass_centre(out)[1] - 14) <= 0.6
    plain = prepare_image(Image.fromarray(page), image_shape=(1, 60, 60), style="plain")
    assert abs(float(plain[0, 0, 0]) - 60000 / 65535) < 1e-3


def test_plain_flattens_transparency_on_white() -> None:
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent
    assert torch.allclose(prepare_image(rgba, image_shape=(1, 10, 10), style="plain"),
                          torch.ones(1, 10, 10))


# --- prepare_image: the MNIST recipe on real-looking handwriting -----------------------

def _redraw(digit: np.ndarray) -> dict[str, object]:
    """One MNIST digit as people supply it: 4x larger, thick strokes, off-centre."""
    big = Image.fromarray(digit).resize((112, 112), Image.Resampling.BILINEAR)
    thick = np.asarray(big.filter(ImageFilter.MaxFilter(9)), dtype=np.float32)  # (112, 112)
    ink = np.zeros((240, 300), np.float32)
    ink[20:132, 170:282] = thick / 255.0  # top-right corner
    rng = np.random.default_rng(0)
    paper = 0.86 + 0.06 * np.linspace(0, 1, 300)[None, :]  # uneven lighting
    photo = np.clip(paper - 0.75 * ink + rng.normal(0, 0.015, ink.shape), 0, 1)
    photo[200:203, 30:33] = 0.1  # a speck of dust far from the digit
    canvas = np.zeros((240, 300, 4), np.uint8)
    canvas[..., 3] = (ink * 255).astype(np.uint8)  # black ink, drawing in the alpha channel
    white_canvas = canvas.copy()
    white_canvas[..., :3] = 255  # white ink on a transparent canvas
    return {
        "photo dark on light": Image.fromarray((photo * 255).astype(np.uint8)).convert("RGB"),
        "white on black": Image.fromarray((ink * 255).astype(np.uint8)),
        "canvas alpha ink": canvas,
        "canvas white ink": white_canvas,
        "RGBA PIL image": Image.fromarray(canvas, "RGBA"),
    }


@needs_mnist
def test_redrawn_mnist_digits_come_out_like_the_original() -> None:
    assert MNIST_DIGITS is not None
    scores: dict[str, list[float]] = {}
    for digit in MNIST_DIGITS:
        reference = prepare_image(Image.fromarray(digit))
        assert _corr(reference, torch.from_numpy(digit / 255.0)) > 0.75
        for kind, img in _redraw(digit).items():
            out = prepare_image(img)  # type: ignore[arg-type]
            scores.setdefault(kind, []).append(_corr(out, reference))
            cy, cx = _mass_centre(out)
            assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6, (kind, cy, cx)
    for kind, values in scores.items():
        assert np.mean(values) > 0.88 and min(values) > 0.7, (kind, values)


@needs_mnist
def test_polarity_is_detected_both_ways() -> None:
    assert MNIST_DIGITS is not None
    digit = MNIST_DIGITS[0]
    light_on_dark = prepare_image(Image.fromarray(digit))
    dark_on_light = prepare_image(Image.fromarray(255 - digit))
    assert torch.allclose(light_on_dark, dark_on_light, atol=1e-5)
    assert float(light_on_dark[0, 0, 0]) == 0.0 and float(light_on_dark.max()) == 1.0


def test_thick_strokes_are_thinned_towards_mnist_width() -> None:
    img = Image.new("L", (200, 200), 255)
    img.paste(0, (70, 20, 130, 180))  # a "1" drawn with a 60-px marker
    out = prepare_image(img)[0]
    assert float(out.max()) == 1.0
    width = int((out > 0.5).sum(dim=1).max())
    assert 2 <= width <= 6, width  # MNIST strokes are about 3 px wide


def test_specks_do_not_move_the_digit() -> None:
    img = Image.new("L", (200, 200), 240)
    img.paste(20, (90, 40, 102, 160))
    clean = prepare_image(img)
    img.paste(20, (5, 190, 8, 193))
    assert torch.allclose(prepare_image(img), clean)


def test_a_large_photo_is_reduced_and_its_digit_found() -> None:
    img = Image.new("RGB", (3000, 2000), (235, 230, 220))
    small = Image.new("RGB", (300, 200), (235, 230, 220))
    for canvas, k in ((img, 1), (small, 10)):
        canvas.paste((30, 30, 30), (1400 // k, 500 // k, 1500 // k, 1600 // k))
    big_out = prepare_image(read_image(_png(img, "JPEG")))
    assert _corr(big_out, prepare_image(small)) > 0.9
    assert abs(_mass_centre(big_out)[1] - 14) <= 0.6


# --- prepare_image: sklearn's 8x8 digits ------------------------------------------------

def test_digits_style_reproduces_upscaled_sklearn_digits() -> None:
    raw = load_digits_raw()
    scores = []
    for x in raw.x_test[:20, 0]:
        big = Image.fromarray((x.astype(np.float32) * 255 / 16).astype(np.uint8)).resize(
            (96, 96), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
        paper = Image.fromarray(255 - np.asarray(big))  # dark ink on white
        out = prepare_image(paper, image_shape=(1, 8, 8), style="digits")
        assert torch.equal(out * 16, (out * 16).round())  # sixteenths, like the dataset
        scores.append(_corr(out, torch.from_numpy(x / 16.0)))
    assert np.mean(scores) > 0.8, scores


# --- augment_batch ---------------------------------------------------------------------

def _batch() -> torch.Tensor:
    x = torch.zeros(6, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0
    return x


def test_augment_is_deterministic_for_a_generator() -> None:
    a = augment_batch(_batch(), torch.Generator().manual_seed(5))
    b = augment_batch(_batch(), torch.Generator().manual_seed(5))
    c = augment_batch(_batch(), torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_augment_keeps_shape_range_and_most_of_the_ink() -> None:
    x = _batch()
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, x)
    ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert bool(((ratio > 0.4) & (ratio < 2.0)).all()), ratio
    assert torch.equal(x, _batch())  # the input is untouched


def test_augment_handles_colour_small_and_empty_batches() -> None:
    gen = torch.Generator().manual_seed(1)
    assert augment_batch(torch.rand(3, 3, 8, 8), gen).shape == (3, 3, 8, 8)
    assert augment_batch(torch.zeros(0, 1, 8, 8), gen).shape == (0, 1, 8, 8)
    with pytest.raises(ShapeError):
        augment_batch(torch.zeros(8, 8), gen)


# --- the shipped sample images --------------------------------------------------------

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "assets" / "samples").glob("digit-*.png"))


def test_samples_are_small_readable_digits() -> None:
    assert len(SAMPLES) >= 6
    for path in SAMPLES:
        assert path.stat().st_size < 20_000, path.name
        out = prepare_image(read_image(path.read_bytes()))
        assert float(out.max()) == 1.0, path.name
        cy, cx = _mass_centre(out)
        assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6, (path.name, cy, cx)


@needs_mnist
def test_a_nearest_neighbour_fitted_on_mnist_reads_the_samples() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    root = Path(os.environ.get("HQNN_MNIST_ROOT")
                or Path(__file__).resolve().parents[2] / "shared/data/mnist-10k")
    x = read_idx(root / "MNIST/raw/train-images-idx3-ubyte").reshape(-1, 784) / 255.0
    y = read_idx(root / "MNIST/raw/train-labels-idx1-ubyte")
    knn = KNeighborsClassifier(n_neighbors=3).fit(x, y)
    batch = np.stack([prepare_image(read_image(p.read_bytes())).reshape(-1).numpy()
                      for p in SAMPLES])
    truth = np.array([int(p.name.split("-")[1]) for p in SAMPLES])
    correct = int((knn.predict(batch) == truth).sum())
    assert correct >= len(SAMPLES) - 1, (correct, knn.predict(batch), truth)


# --- never a traceback ------------------------------------------------------------------

_PNG_HEAD = _png(Image.new("RGB", (4, 4), "white"))[:33]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=200).map(lambda b: _PNG_HEAD + b)))
def test_read_image_only_ever_raises_data_error(payload: bytes) -> None:
    try:
        img = read_image(payload)
    except DataError as exc:
        assert str(exc).endswith("upload a PNG or JPEG.")
    else:
        assert img.size[0] >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40),
                                  st.sampled_from([1, 3, 4]))),
       st.sampled_from(["mnist", "digits", "plain"]))
def test_prepare_image_takes_any_pixels(pixels: np.ndarray, style: str) -> None:
    shape = (1, 8, 8) if style == "digits" else (1, 28, 28)
    out = prepare_image(pixels, image_shape=shape, style=style)
    assert tuple(out.shape) == shape and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all()) and float(out.min()) >= 0 and float(out.max()) <= 1
