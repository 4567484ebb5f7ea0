"""Raw image pools behind the dataset registry: where each dataset's pixels come from.

Each source returns a ``RawData``: uint8 images ``(N, C, H, W)`` at their native size,
integer labels, and the full list of class names. Splitting, class subsets, resizing
and scaling to [0, 1] happen in ``hqnn_core.data.registry``. Nothing here unpickles arbitrary
objects: MNIST is read from its idx files and CIFAR-10's pickled batches go through a
restricted unpickler that only rebuilds numpy arrays.
"""

from __future__ import annotations

import codecs
import functools
import logging
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from hqnn_core.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_FOLDER_IMAGES = 200_000
MAX_MEMBER_BYTES = 50 * 1024 * 1024

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"


@dataclass(frozen=True)
class RawData:
    """A dataset's full train and test pools before any subsetting."""

    x_train: np.ndarray  # (N, C, H, W) uint8
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray  # (M, C, H, W) uint8
    y_test: np.ndarray  # (M,) int64
    class_names: tuple[str, ...]
    max_value: float  # the pixel value that means 1.0 (255, or 16 for sklearn's digits)


def default_data_dir() -> Path:
    """Where downloads go when no root is given: ``HQNN_DATA_DIR`` or ``~/.cache/hqnn``."""
    env = os.environ.get("HQNN_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hqnn"


def resolve_root(root: str | None) -> Path:
    """The folder a torchvision dataset lives in (``root``, else the default data dir)."""
    return Path(root).expanduser().resolve() if root else default_data_dir().resolve()


def _fixed_stratified_split(y: np.ndarray, test_fraction: float) -> np.ndarray:
    """A boolean test mask taking ``test_fraction`` of every class; the same on every call.

    The split is fixed (seed 0) so that every run on the same data is measured on the
    same test images, whatever its own seed.
    """
    rng = np.random.default_rng(0)
    mask = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        n_test = int(round(test_fraction * len(idx)))
        n_test = min(max(n_test, 1), len(idx) - 1)
        mask[rng.permutation(idx)[:n_test]] = True
    return mask


@functools.lru_cache(maxsize=1)
def load_digits_raw() -> RawData:
    """scikit-learn's bundled 8x8 digits (values 0..16), split 80/20 by class, offline."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.uint8)[:, None, :, :]  # (1797, 1, 8, 8), values 0..16
    y = bunch.target.astype(np.int64)
    test = _fixed_stratified_split(y, 0.2)
    return RawData(x[~test], y[~test], x[test], y[test], MNIST_CLASSES, 16.0)


def _download_error(name: str, root: Path, exc: BaseException) -> DataError:
    where = {"mnist": "MNIST/raw/", "fashion_mnist": "FashionMNIST/raw/",
             "cifar10": f"{CIFAR10_FOLDER}/"}[name]
    return DataError(
        f"Could not download {name} into {root} (no network, or the server is unreachable); "
        f"connect to the internet once, or put the files in {root / where} yourself and set "
        "data.root (or HQNN_DATA_DIR) to the folder above them."
    )


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path: Path) -> np.ndarray:
    """An idx file of unsigned bytes (the MNIST format) as a numpy array."""
    raw = path.read_bytes()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path.name} is not an idx file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path.name} is truncated")
    return body.reshape(dims)


def _load_mnist_like(name: str, root: Path) -> RawData:
    """MNIST or Fashion-MNIST from torchvision's layout; torchvision only downloads."""
    classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    raw_dir = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    if not all((raw_dir / f).is_file() for f in MNIST_FILES):
        from torchvision.datasets import MNIST, FashionMNIST

        log.info("%s not found under %s; downloading it", name, root)
        try:
            (MNIST if name == "mnist" else FashionMNIST)(str(root), download=True)
        except (RuntimeError, OSError) as exc:
            raise _download_error(name, root, exc) from exc
    try:
        x_tr, y_tr, x_te, y_te = (read_idx(raw_dir / f) for f in MNIST_FILES)
        if x_tr.ndim != 3 or len(x_tr) != len(y_tr) or len(x_te) != len(y_te):
            raise ValueError("images and labels do not match")
    except (OSError, ValueError) as exc:
        raise DataError(
            f"The {name} files in {raw_dir} are unreadable ({exc}); delete them so they are "
            "downloaded again, or point data.root at a good copy."
        ) from exc
    return RawData(x_tr[:, None], y_tr.astype(np.int64), x_te[:, None], y_te.astype(np.int64),
                   classes, 255.0)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches: plain containers and numpy arrays, never other code."""

    _reconstruct = np.ndarray((0,)).__reduce__()[0]
    _allowed: dict[tuple[str, str], Any] = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes inside protocol-2 pickles
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not allowed in a CIFAR batch") from None


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        entry = _NumpyOnlyUnpickler(fh, encoding="latin1").load()
    x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    y = np.asarray(entry["labels"], dtype=np.int64)
    return x, y


def _load_cifar10(root: Path) -> RawData:
    folder = root / CIFAR10_FOLDER
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if not all((folder / n).is_file() for n in names):
        from torchvision.datasets.utils import download_and_extract_archive

        log.info("cifar10 not found under %s; downloading it", root)
        try:
            download_and_extract_archive(CIFAR10_URL, str(root), md5=CIFAR10_MD5)
        except (RuntimeError, OSError) as exc:
            raise _download_error("cifar10", root, exc) from exc
    try:
        parts = [_read_cifar_batch(folder / n) for n in names]
    except (OSError, pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
        raise DataError(
            f"The CIFAR-10 files in {folder} are unreadable ({exc}); delete that folder so it "
            "is downloaded again."
        ) from exc
    x_train = np.concatenate([p[0] for p in parts[:5]])
    y_train = np.concatenate([p[1] for p in parts[:5]])
    return RawData(x_train, y_train, parts[5][0], parts[5][1], CIFAR10_CLASSES, 255.0)


@functools.lru_cache(maxsize=4)
def load_torchvision_raw(name: str, root: str) -> RawData:
    """MNIST, Fashion-MNIST or CIFAR-10 from ``root``, downloading them if missing."""
    path = Path(root)
    if name == "cifar10":
        return _load_cifar10(path)
    return _load_mnist_like(name, path)


def _folder_entries(root: Path) -> list[tuple[tuple[str, ...], Callable[[], bytes]]]:
    """(relative path parts, bytes reader) for every image file under a folder or zip."""
    entries: list[tuple[tuple[str, ...], Callable[[], bytes]]] = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).parts
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not _hidden(rel):
                entries.append((rel, path.read_bytes))
        return entries
    try:
        archive = zipfile.ZipFile(root)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"{root} is neither a folder nor a readable .zip ({exc}); give a folder with one "
            "sub-folder per class, or a zip of such a folder."
        ) from exc
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        rel = tuple(p for p in info.filename.split("/") if p)
        if info.is_dir() or Path(info.filename).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if _hidden(rel) or rel[0] == "__MACOSX":
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataError(f"{info.filename} in {root.name} is larger than 50 MB; remove it.")
        entries.append((rel, functools.partial(archive.read, info)))
    return entries


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") for p in parts)


def folder_classes(root: Path) -> tuple[list[tuple[str, Callable[[], bytes]]], tuple[str, ...]]:
    """The (class name, reader) of every image under ``root`` and the sorted class names.

    The class of an image is its first-level folder; a zip whose images all sit inside one
    top-level folder (a zip of the dataset folder itself) has that folder stripped.
    """
    if not root.exists():
        raise DataError(f"The image folder {root} does not exist; set data.root to a folder "
                        "(or .zip) with one sub-folder of images per class.")
    entries = _folder_entries(root)
    if len(entries) > MAX_FOLDER_IMAGES:
        raise DataError(f"{root} holds {len(entries)} images; use at most {MAX_FOLDER_IMAGES}.")
    tops = {parts[0] for parts, _ in entries}
    if len(tops) == 1 and all(len(parts) >= 3 for parts, _ in entries):
        entries = [(parts[1:], read) for parts, read in entries]
    labelled = [(parts[0], read) for parts, read in entries if len(parts) >= 2]
    names = tuple(sorted({name for name, _ in labelled}))
    if len(names) < 2:
        raise DataError(
            f"{root} has {len(names)} class folder(s) with images; it needs one sub-folder per "
            "class (at least two), each holding that class's images."
        )
    return labelled, names


@functools.lru_cache(maxsize=4)
def load_folder_raw(root: str, size: int, grayscale: bool, stamp: float) -> RawData:
    """A user's own images (folder or zip), resized to ``size``; ``stamp`` keys the cache.

    Each class is split 80/20 into train/test with a fixed seed; a class needs at least
    two images.
    """
    from hqnn_core.data.images import prepare_image, read_image

    labelled, names = folder_classes(Path(root))
    shape = (1 if grayscale else 3, size, size)
    images, labels = [], []
    for name, read in labelled:
        try:
            img = read_image(read())
        except DataError as exc:
            raise DataError(f"In class '{name}' of {Path(root).name}: {exc}") from exc
        pixels = prepare_image(img, image_shape=shape, style="plain")  # (C, size, size)
        images.append((pixels * 255.0).round().to(torch.uint8).numpy())
        labels.append(names.index(name))
    x = np.stack(images)  # (N, C, size, size)
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y, minlength=len(names))
    if counts.min() < 2:
        thin = [names[i] for i in np.flatnonzero(counts < 2)]
        raise DataError(f"Class folder(s) {', '.join(thin)} hold fewer than two images; add "
                        "more so each class has a training and a test image.")
    test = _fixed_stratified_split(y, 0.2)
    return RawData(x[~test], y[~test], x[test], y[test], names, 255.0)


def folder_stamp(root: str | Path) -> float:
    """A number that changes when a folder dataset changes (newest mtime of its folders)."""
    path = Path(root)
    try:
        stamps = [path.stat().st_mtime]
        if path.is_dir():
            stamps += [p.stat().st_mtime for p in path.iterdir() if p.is_dir()]
    except OSError:
        return 0.0
    return max(stamps)
