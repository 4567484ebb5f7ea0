"""The dataset registry: shapes, seeded stratified splits, class subsets, offline MNIST,
download failures, CIFAR-10 batches and a user's own folder or zip of images."""

from __future__ import annotations

import io
import os
import pickle
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hqnn_core.data import registry as data
from hqnn_core.config import DataConfig
from hqnn_core.data.registry import DatasetSplit, class_counts, dataset_info, load_dataset
from hqnn_core.errors import DataError


def _mnist_root() -> Path | None:
    env = os.environ.get("HQNN_MNIST_ROOT")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared/data/mnist-10k"
    return root if (root / "MNIST/raw/train-images-idx3-ubyte").is_file() else None


MNIST_ROOT = _mnist_root()
needs_mnist = pytest.mark.skipif(
    MNIST_ROOT is None,
    reason="offline MNIST not found beside the repo (shared/data/mnist-10k) nor at HQNN_MNIST_ROOT",
)


def _fresh(cfg: DataConfig) -> DatasetSplit:
    """Load bypassing the in-process cache, to test what a new process would get."""
    data._load_cached.cache_clear()
    return load_dataset(cfg)


def _assert_images(x: torch.Tensor, shape: tuple[int, int, int]) -> None:
    assert x.dtype == torch.float32
    assert tuple(x.shape[1:]) == shape
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_digits_default_shapes_dtypes_and_ranges() -> None:
    split = load_dataset(DataConfig())
    assert split.name == "digits" and split.image_shape == (1, 8, 8)
    assert split.class_names == tuple(str(d) for d in range(10))
    for x, y in ((split.x_train, split.y_train), (split.x_val, split.y_val),
                 (split.x_test, split.y_test)):
        _assert_images(x, (1, 8, 8))
        assert y.dtype == torch.int64 and len(y) == len(x)
        assert set(y.tolist()) == set(range(10))
    assert len(split.y_train) + len(split.y_val) + len(split.y_test) == 1797
    info = dataset_info("digits")
    assert info["available"] and not info["needs_download"]
    assert info["n_train"] == len(split.y_train) + len(split.y_val)
    assert info["n_test"] == len(split.y_test)
    assert float(split.x_train.max()) == 1.0  # 16 maps to 1
    assert abs(len(split.y_val) - 0.1 * (len(split.y_train) + len(split.y_val))) <= 1


def test_same_seed_same_split_and_different_seed_different_split() -> None:
    cfg = DataConfig(train_size=300, test_size=100, seed=7)
    a, b = _fresh(cfg), _fresh(cfg)
    assert a is not b
    for part in ("x_train", "y_train", "x_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, part), getattr(b, part))
    c = _fresh(DataConfig(train_size=300, test_size=100, seed=8))
    assert not torch.equal(a.x_train, c.x_train)
    assert not torch.equal(a.x_test, c.x_test)


def test_cache_returns_the_same_object_for_the_same_config() -> None:
    cfg = DataConfig(train_size=120, seed=3)
    assert load_dataset(cfg) is load_dataset(cfg)


def test_subsets_are_stratified() -> None:
    split = _fresh(DataConfig(train_size=500, test_size=200, val_fraction=0.2, seed=1))
    assert len(split.y_train) + len(split.y_val) == 500 and len(split.y_test) == 200
    assert len(split.y_val) == 100
    full = np.bincount(load_dataset(DataConfig(val_fraction=0.0)).y_train.numpy())
    for part, n in (("y_train", 400), ("y_val", 100), ("y_test", 200)):
        counts = np.bincount(getattr(split, part).numpy(), minlength=10)
        expected = n * full / full.sum()
        assert np.all(np.abs(counts - expected) <= 1.5), (part, counts, expected)


def test_class_subset_relabels_in_the_given_order() -> None:
    full = load_dataset(DataConfig(val_fraction=0.0))
    pair = load_dataset(DataConfig(classes=(3, 6), val_fraction=0.0))
    assert pair.class_names == ("3", "6") and pair.n_classes == 2
    assert set(pair.y_train.tolist()) == {0, 1}
    assert torch.equal(pair.x_test[pair.y_test == 0], full.x_test[full.y_test == 3])
    assert torch.equal(pair.x_test[pair.y_test == 1], full.x_test[full.y_test == 6])
    flipped = load_dataset(DataConfig(classes=(6, 3), val_fraction=0.0))
    assert flipped.class_names == ("6", "3")
    assert torch.equal(flipped.x_test[flipped.y_test == 0], full.x_test[full.y_test == 6])


def test_image_size_resizes_every_part() -> None:
    split = load_dataset(DataConfig(image_size=16, train_size=100, test_size=50))
    for x in (split.x_train, split.x_val, split.x_test):
        _assert_images(x, (1, 16, 16))
    assert split.image_shape == (1, 16, 16)


@pytest.mark.parametrize("cfg, words", [
    (DataConfig(train_size=5000), "at most"),
    (DataConfig(train_size=5), "at least 10"),
    (DataConfig(classes=(1, 12)), "0..9"),
    (DataConfig(name="folder"), "data.root"),
])
def test_impossible_requests_raise_one_clear_sentence(cfg: DataConfig, words: str) -> None:
    with pytest.raises(DataError, match=words):
        load_dataset(cfg)


def test_class_counts_add_up() -> None:
    split = load_dataset(DataConfig(classes=(0, 1), train_size=100, test_size=40))
    counts = class_counts(split)
    assert set(counts) == {"train", "val", "test"}
    assert sum(counts["test"].values()) == 40 and set(counts["test"]) == {"0", "1"}
    assert sum(counts["train"].values()) + sum(counts["val"].values()) == 100


@needs_mnist
def test_offline_mnist_root_loads_8000_and_2000() -> None:
    split = load_dataset(DataConfig(name="mnist", root=str(MNIST_ROOT), val_fraction=0.0))
    assert len(split.y_train) == 8000 and len(split.y_test) == 2000 and len(split.y_val) == 0
    assert split.image_shape == (1, 28, 28) and split.class_names[3] == "3"
    _assert_images(split.x_test, (1, 28, 28))
    info = dataset_info("mnist", str(MNIST_ROOT))
    assert info["available"] and info["n_train"] == 8000 and info["n_test"] == 2000


@needs_mnist
def test_offline_mnist_binary_subset() -> None:
    split = load_dataset(DataConfig(name="mnist", root=str(MNIST_ROOT), classes=(0, 1),
                                    train_size=400, test_size=100, seed=2))
    assert len(split.y_train) + len(split.y_val) == 400 and len(split.y_test) == 100
    assert split.class_names == ("0", "1")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_download_without_network_is_a_data_error(name: str, tmp_path: Path,
                                                  no_network: None) -> None:
    with pytest.raises(DataError, match="Could not download") as info:
        load_dataset(DataConfig(name=name, root=str(tmp_path / "empty")))
    assert str(tmp_path / "empty") in str(info.value)


def test_data_dir_env_is_the_default_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HQNN_DATA_DIR", str(tmp_path))
    info = dataset_info("fashion_mnist")
    assert info["root"] == str(tmp_path.resolve()) and not info["available"]
    assert info["needs_download"] and info["n_classes"] == 10


def _write_cifar(root: Path, per_batch: int = 20) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "labels": [i % 10 for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))


def test_cifar10_batches_load_in_colour_and_grayscale(tmp_path: Path) -> None:
    _write_cifar(tmp_path)
    colour = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), grayscale=False,
                                     val_fraction=0.0))
    gray = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), grayscale=True,
                                   val_fraction=0.0))
    assert len(colour.y_train) == 100 and len(colour.y_test) == 20
    _assert_images(colour.x_train, (3, 32, 32))
    _assert_images(gray.x_train, (1, 32, 32))
    assert colour.class_names[0] == "airplane"
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose((colour.x_test * luma).sum(1, keepdim=True), gray.x_test, atol=1e-5)


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo should-not-run",))


def test_cifar10_batch_that_would_run_code_is_refused(tmp_path: Path) -> None:
    _write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(
        pickle.dumps({"data": _Evil(), "labels": []}))
    with pytest.raises(DataError, match="unreadable"):
        load_dataset(DataConfig(name="cifar10", root=str(tmp_path)))


def _png(colour: tuple[int, int, int], size: tuple[int, int], fmt: str = "PNG",
         mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, colour)
    if mode == "RGBA":
        img = img.convert("RGBA")
    img.save(buf, format=fmt)
    return buf.getvalue()


def _make_folder(root: Path) -> None:
    for k, name in enumerate(["cat", "dog", "emu"]):
        (root / name).mkdir(parents=True)
        for i in range(6):
            colour = (40 * k + i, 200 - 50 * k, 30 * k)
            fmt, ext, mode = (("JPEG", "jpg", "RGB") if i % 3 == 0 else
                              ("PNG", "png", "RGBA" if i % 3 == 1 else "RGB"))
            (root / name / f"{i}.{ext}").write_bytes(_png(colour, (20 + i, 30), fmt, mode))
    (root / "notes.txt").write_text("not an image")


def test_folder_dataset_uses_folder_names_as_classes(tmp_path: Path) -> None:
    _make_folder(tmp_path / "pets")
    split = load_dataset(DataConfig(name="folder", root=str(tmp_path / "pets"), val_fraction=0.0))
    assert split.class_names == ("cat", "dog", "emu")
    assert len(split.y_train) + len(split.y_test) == 18
    assert class_counts(split)["test"] == {"cat": 1, "dog": 1, "emu": 1}
    _assert_images(split.x_train, (1, 28, 28))
    rgb = load_dataset(DataConfig(name="folder", root=str(tmp_path / "pets"), grayscale=False,
                                  image_size=12, classes=(2, 0)))
    _assert_images(rgb.x_train, (3, 12, 12))
    assert rgb.class_names == ("emu", "cat")
    info = dataset_info("folder", str(tmp_path / "pets"))
    assert info["available"] and info["class_sizes"] == {"cat": 6, "dog": 6, "emu": 6}


def test_zip_of_the_folder_gives_the_same_dataset(tmp_path: Path) -> None:
    _make_folder(tmp_path / "pets")
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "pets").rglob("*")):
            zf.write(path, path.relative_to(tmp_path).as_posix())
    from_zip = load_dataset(DataConfig(name="folder", root=str(archive)))
    from_dir = load_dataset(DataConfig(name="folder", root=str(tmp_path / "pets")))
    assert from_zip.class_names == from_dir.class_names
    assert torch.equal(from_zip.x_train, from_dir.x_train)
    assert torch.equal(from_zip.y_test, from_dir.y_test)


def test_folder_problems_name_what_to_fix(tmp_path: Path) -> None:
    (tmp_path / "one" / "only").mkdir(parents=True)
    (tmp_path / "one" / "only" / "a.png").write_bytes(_png((0, 0, 0), (8, 8)))
    with pytest.raises(DataError, match="at least two"):
        load_dataset(DataConfig(name="folder", root=str(tmp_path / "one")))
    _make_folder(tmp_path / "bad")
    (tmp_path / "bad" / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="class 'dog'"):
        load_dataset(DataConfig(name="folder", root=str(tmp_path / "bad")))
    (tmp_path / "junk.zip").write_bytes(b"PK nonsense")
    with pytest.raises(DataError, match="zip"):
        load_dataset(DataConfig(name="folder", root=str(tmp_path / "junk.zip")))


def test_truncated_mnist_files_are_a_data_error(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    header = (0x0803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (5, 28, 28))
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (raw / name).write_bytes(header + bytes(100))
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes((0x0801).to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes(5))
    with pytest.raises(DataError, match="truncated"):
        load_dataset(DataConfig(name="mnist", root=str(tmp_path)))
