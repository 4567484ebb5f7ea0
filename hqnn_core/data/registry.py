"""The dataset registry: a ``DataConfig`` in, seeded and stratified tensors out.

``load_dataset(cfg)`` returns a ``DatasetSplit`` of float32 images ``(N, C, H, W)`` in
[0, 1] and int64 labels indexing ``class_names`` (in the order of ``cfg.classes``).
Registry: ``digits`` (scikit-learn's bundled 8x8 digits, always offline), ``mnist``,
``fashion_mnist``, ``cifar10`` (torchvision layout under ``root``, ``HQNN_DATA_DIR`` or
``~/.cache/hqnn``; downloaded on first use) and ``folder`` (one sub-folder per class,
or a zip of that).

Sizes: ``train_size`` counts the training pool *before* the validation images are
carved from it, so ``len(x_train) + len(x_val) == train_size``. The test pool is the
dataset's own test split (digits and folder: a fixed 80/20 split per class), so every
seed is measured on the same images unless ``test_size`` subsamples them.

Results are cached in-process; treat the returned tensors as read-only.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from hqnn_core.data.augment import augment_batch
from hqnn_core.config import DATASETS, DataConfig
from hqnn_core.errors import DataError
from hqnn_core.data.sources import (
    CIFAR10_CLASSES,
    CIFAR10_FOLDER,
    FASHION_CLASSES,
    MNIST_CLASSES,
    RawData,
    folder_classes,
    folder_stamp,
    load_digits_raw,
    load_folder_raw,
    load_torchvision_raw,
    resolve_root,
)

__all__ = ["DatasetSplit", "load_dataset", "dataset_info", "class_counts", "augment_batch",
           "local_roots"]

log = logging.getLogger(__name__)

DEFAULT_FOLDER_SIZE = 28
_LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601, as PIL's convert("L")


@dataclass(frozen=True)
class DatasetSplit:
    """Train / validation / test tensors of one dataset configuration."""

    x_train: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (C, H, W)
    name: str

    @property
    def n_classes(self) -> int:
        """How many classes the labels index."""
        return len(self.class_names)


def load_dataset(cfg: DataConfig) -> DatasetSplit:
    """Load, subset, split and shape the dataset ``cfg`` describes (cached per config)."""
    if cfg.name == "folder":
        source = (cfg.root or "", folder_stamp(cfg.root) if cfg.root else 0.0)
    elif cfg.name == "digits":
        source = ("", 0.0)
    else:
        source = (str(resolve_root(cfg.root)), 0.0)
    return _load_cached(cfg, source)


@functools.lru_cache(maxsize=4)
def _load_cached(cfg: DataConfig, source: tuple[str, float]) -> DatasetSplit:
    """``source`` (resolved root, folder timestamp) makes changed files or roots reload."""
    raw = _raw(cfg, source)
    classes = _check_classes(cfg, raw.class_names)
    x_pool, y_pool = _select_classes(raw.x_train, raw.y_train, classes)
    x_test, y_test = _select_classes(raw.x_test, raw.y_test, classes)
    n_classes = len(classes)

    train_rng = np.random.default_rng([cfg.seed, 1])
    test_rng = np.random.default_rng([cfg.seed, 2])
    val_rng = np.random.default_rng([cfg.seed, 3])

    pool_idx = _subset(y_pool, cfg.train_size, "train_size", "training", n_classes, train_rng)
    test_idx = _subset(y_test, cfg.test_size, "test_size", "test", n_classes, test_rng)
    pool_idx = pool_idx if pool_idx is not None else train_rng.permutation(len(y_pool))
    n_val = int(round(cfg.val_fraction * len(pool_idx)))
    if len(pool_idx) - n_val < 1:
        raise DataError(f"Only {len(pool_idx)} training images remain and val_fraction="
                        f"{cfg.val_fraction} takes them all; lower val_fraction or add images.")
    val_pos = _stratified_take(y_pool[pool_idx], n_val, val_rng)
    is_val = np.zeros(len(pool_idx), dtype=bool)
    is_val[val_pos] = True
    train_idx, val_idx = pool_idx[~is_val], pool_idx[np.sort(val_pos)]
    if test_idx is not None:
        x_test, y_test = x_test[test_idx], y_test[test_idx]

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))

    x_tr, x_va, x_te = (_shape_images(x, raw.max_value, cfg)
                        for x in (x_pool[train_idx], x_pool[val_idx], x_test))
    shape = (int(x_tr.shape[1]), int(x_tr.shape[2]), int(x_tr.shape[3]))
    log.info("loaded %s: %d train / %d val / %d test images of shape %s, %d classes",
             cfg.name, len(x_tr), len(x_va), len(x_te), shape, n_classes)
    return DatasetSplit(
        x_train=x_tr, y_train=labels(y_pool[train_idx]),
        x_val=x_va, y_val=labels(y_pool[val_idx]),
        x_test=x_te, y_test=labels(y_test),
        class_names=tuple(raw.class_names[c] for c in classes),
        image_shape=shape, name=cfg.name,
    )


def _raw(cfg: DataConfig, source: tuple[str, float]) -> RawData:
    if cfg.name == "digits":
        return load_digits_raw()
    if cfg.name == "folder":
        if not cfg.root:
            raise DataError("The folder dataset needs data.root: a folder (or .zip) with one "
                            "sub-folder of images per class.")
        root = str(Path(cfg.root).expanduser().resolve())
        size = cfg.image_size or DEFAULT_FOLDER_SIZE
        return load_folder_raw(root, size, cfg.grayscale, source[1])
    return load_torchvision_raw(cfg.name, source[0])


def _check_classes(cfg: DataConfig, names: tuple[str, ...]) -> tuple[int, ...]:
    if cfg.classes is None:
        return tuple(range(len(names)))
    bad = [c for c in cfg.classes if isinstance(c, bool) or not isinstance(c, int)
           or not 0 <= c < len(names)]
    if bad:
        raise DataError(f"data.classes has {bad}, but {cfg.name} has classes 0..{len(names) - 1} "
                        f"({', '.join(names)}); pick class numbers from that range.")
    return cfg.classes


def _select_classes(x: np.ndarray, y: np.ndarray, classes: tuple[int, ...]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose label is in ``classes``, relabelled 0..k-1 in the order of ``classes``."""
    lookup = np.full(max(int(y.max(initial=0)), max(classes)) + 1, -1, dtype=np.int64)
    lookup[list(classes)] = np.arange(len(classes))
    new = lookup[y]
    keep = new >= 0
    return x[keep], new[keep]


def _subset(y: np.ndarray, size: int | None, field: str, what: str, n_classes: int,
            rng: np.random.Generator) -> np.ndarray | None:
    """Stratified indices of ``size`` rows of ``y`` (None when no subset is asked for)."""
    if size is None:
        return None
    if size > len(y):
        raise DataError(f"data.{field}={size} but only {len(y)} {what} images exist for these "
                        f"classes; use at most {len(y)}.")
    if size < n_classes:
        raise DataError(f"data.{field}={size} is smaller than the {n_classes} classes; use at "
                        f"least {n_classes} so every class is present.")
    return _stratified_take(y, size, rng)


def _stratified_take(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``n`` rows of ``y`` with classes in proportion (largest remainder), shuffled."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    labels, counts = np.unique(y, return_counts=True)
    quota = n * counts / counts.sum()
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n - int(take.sum())]] += 1
    picks = [rng.permutation(np.flatnonzero(y == lab))[:k] for lab, k in zip(labels, take)]
    return rng.permutation(np.concatenate(picks))


def _shape_images(x: np.ndarray, max_value: float, cfg: DataConfig) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> float32 in [0, 1], grayscale and resized as configured."""
    out = torch.from_numpy(np.ascontiguousarray(x)).to(torch.float32) / max_value
    if cfg.grayscale and out.shape[1] == 3:
        out = torch.einsum("nchw,c->nhw", out, _LUMA).unsqueeze(1)  # (N, 1, H, W)
    size = cfg.image_size
    if size is not None and tuple(out.shape[2:]) != (size, size) and len(out):
        out = F.interpolate(out, size=(size, size), mode="bilinear", antialias=True,
                            align_corners=False)
    return out.clamp_(0.0, 1.0).contiguous()


def class_counts(split: DatasetSplit) -> dict[str, dict[str, int]]:
    """Images per class in each part: ``{"train": {"0": 90, ...}, "val": ..., "test": ...}``."""
    parts = {"train": split.y_train, "val": split.y_val, "test": split.y_test}
    return {
        part: {name: int(n) for name, n in
               zip(split.class_names, torch.bincount(y, minlength=split.n_classes).tolist())}
        for part, y in parts.items()
    }


_INFO: dict[str, dict[str, Any]] = {
    "digits": {"title": "Digits (scikit-learn, 8x8)", "image_shape": (1, 8, 8),
               "class_names": MNIST_CLASSES, "needs_download": False,
               "n_train": 1438, "n_test": 359,  # the fixed 80/20 split (checked by a test)
               "description": "1,797 handwritten digits bundled with scikit-learn; always "
                              "offline."},
    "mnist": {"title": "MNIST", "image_shape": (1, 28, 28), "class_names": MNIST_CLASSES,
              "needs_download": True, "folder": "MNIST/raw",
              "description": "Handwritten digits (torchvision layout; the full set has 60,000 "
                             "train / 10,000 test)."},
    "fashion_mnist": {"title": "Fashion-MNIST", "image_shape": (1, 28, 28),
                      "class_names": FASHION_CLASSES, "needs_download": True,
                      "folder": "FashionMNIST/raw",
                      "description": "Clothing images (torchvision layout; the full set has "
                                     "60,000 train / 10,000 test)."},
    "cifar10": {"title": "CIFAR-10", "image_shape": (3, 32, 32), "class_names": CIFAR10_CLASSES,
                "needs_download": True, "folder": CIFAR10_FOLDER,
                "description": "Colour photos of 10 objects (the full set has 50,000 train / "
                               "10,000 test)."},
    "folder": {"title": "Your own images", "image_shape": (1, DEFAULT_FOLDER_SIZE,
                                                           DEFAULT_FOLDER_SIZE),
               "class_names": (), "needs_download": False,
               "description": "A folder (or .zip) with one sub-folder of images per class."},
}


def dataset_info(name: str, root: str | None = None) -> dict[str, Any]:
    """What the Data page shows about a dataset before loading it.

    Keys: name, title, description, image_shape (native C, H, W), class_names, n_classes,
    needs_download, root (resolved, or None), available (usable offline at that root),
    and for local data n_train / n_test when they can be read cheaply.
    """
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    meta = dict(_INFO[name])
    folder = meta.pop("folder", None)
    info: dict[str, Any] = {"name": name, **meta, "root": None, "available": True}
    if name == "folder":
        info["available"] = False
        if root:
            path = Path(root).expanduser().resolve()
            info["root"] = str(path)
            try:
                labelled, names = folder_classes(path)
            except DataError as exc:
                info["problem"] = str(exc)
            else:
                counts = {n: 0 for n in names}
                for cls, _ in labelled:
                    counts[cls] += 1
                info.update(available=True, class_names=names, class_sizes=counts,
                            n_images=len(labelled))
    elif folder is not None:
        path = resolve_root(root)
        info["root"] = str(path)
        info["available"] = _torchvision_present(name, path / folder)
        if info["available"] and name != "cifar10":
            info.update(n_train=_idx_count(path / folder / "train-labels-idx1-ubyte"),
                        n_test=_idx_count(path / folder / "t10k-labels-idx1-ubyte"))
        if info.get("n_train") is not None and info.get("n_test") is not None:
            info["description"] = (f"{info['title']} in {path}: {info['n_train']:,} training "
                                   f"and {info['n_test']:,} test images.")
    info["n_classes"] = len(info["class_names"])
    return info


def local_roots(name: str, search: Sequence[str | Path] = ("data", "../shared/data")
                ) -> list[str]:
    """Folders on this machine that hold dataset ``name`` offline (torchvision layout).

    Looks at the default data folder (``HQNN_DATA_DIR`` or ``~/.cache/hqnn``) and the
    sub-folders of each ``search`` folder (relative to the working directory); absolute paths.
    """
    folder = _INFO.get(name, {}).get("folder")
    if folder is None:
        return []
    candidates = [resolve_root(None)]
    for base in search:
        base = Path(base).expanduser()
        if base.is_dir():
            candidates += [base, *sorted(p for p in base.iterdir() if p.is_dir())]
    found: list[str] = []
    for path in candidates:
        path = path.resolve()
        if str(path) not in found and _torchvision_present(name, path / folder):
            found.append(str(path))
    return found


def _torchvision_present(name: str, folder: Path) -> bool:
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    else:
        files = [f"{p}-{k}-idx{d}-ubyte" for p in ("train", "t10k")
                 for k, d in (("images", 3), ("labels", 1))]
    return all((folder / f).is_file() for f in files)


def _idx_count(path: Path) -> int | None:
    """The item count in an idx file's header (bytes 4..8, big-endian)."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(8)
    except OSError:
        return None
    return int.from_bytes(header[4:8], "big") if len(header) == 8 else None
