"""The Data page: dataset, classes and sizes change the session configuration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hqnn_ui.state import CONFIG_KEY

Metric = Callable[[AppTest, str], str]


def test_renders_digits_with_gallery_balance_and_encoding_view(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("data.py")
    assert not at.exception
    assert at.title[0].value == "Data"
    assert at.selectbox(key="w.data.name").value == "digits"
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert len(charts) == 3  # gallery, class balance, encoding view
    assert int(metric(at, "Test")) > 0


def test_choosing_classes_updates_the_configuration(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("data.py")
    full_test = int(metric(at, "Test"))
    at.multiselect(key="w.data.classes").set_value([0, 1, 7]).run()
    assert not at.exception
    assert at.session_state[CONFIG_KEY].data.classes == (0, 1, 7)
    assert int(metric(at, "Test")) < full_test
    assert "0, 1, 7" in " ".join(c.value for c in at.sidebar.caption)


def test_one_class_is_refused_with_a_sentence(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("data.py")
    at.multiselect(key="w.data.classes").set_value([3]).run()
    assert not at.exception
    assert any("at least two classes" in w.value for w in at.warning)
    assert at.session_state[CONFIG_KEY].data.classes is None


def test_sizes_update_the_configuration(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("data.py")
    at.number_input(key="w.data.train_size").set_value(200).run()
    assert not at.exception
    assert at.session_state[CONFIG_KEY].data.train_size == 200
    assert int(metric(at, "Training")) + int(metric(at, "Validation")) == 200


def test_a_dataset_not_on_this_machine_says_so(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("data.py")
    at.selectbox(key="w.data.name").set_value("mnist").run()
    assert not at.exception
    assert at.session_state[CONFIG_KEY].data.name == "mnist"
    assert any("not on this machine" in i.value for i in at.info)
    assert len(at.multiselect(key="w.data.classes").value) == 10


def test_an_uploaded_zip_becomes_the_dataset(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as archive:
        for label in ("cats", "dogs"):
            for i in range(6):
                png = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (12, 12), dtype=np.uint8)).save(png, "PNG")
                archive.writestr(f"{label}/{i}.png", png.getvalue())
    at = open_page("data.py")
    at.selectbox(key="w.data.name").set_value("folder").run()
    assert any("Upload a zip" in i.value for i in at.info)
    at.file_uploader(key="data_upload").upload("pets.zip", buffer.getvalue(), "application/zip")
    at.run()
    assert not at.exception
    data = at.session_state[CONFIG_KEY].data
    assert data.name == "folder" and data.root.endswith("pets.zip")
    assert at.multiselect(key="w.data.classes").value == [0, 1]
    assert int(metric(at, "Test")) > 0


SHARED_MNIST = Path(os.environ.get("HQNN_MNIST_ROOT") or
                    Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-10k")


def test_the_data_folder_is_chosen_on_screen_and_the_real_sizes_shown(
        open_page: Callable[[str], AppTest], metric: Metric, tmp_path: Path) -> None:
    if not (SHARED_MNIST / "MNIST" / "raw" / "train-labels-idx1-ubyte").is_file():
        pytest.skip("offline MNIST not found beside the repo (shared/data/mnist-10k) nor at "
                    "HQNN_MNIST_ROOT")
    at = open_page("data.py")
    at.selectbox(key="w.data.name").set_value("mnist").run()
    at.text_input(key="w.data.root").set_value(str(SHARED_MNIST)).run()
    assert not at.exception
    assert at.session_state[CONFIG_KEY].data.root == str(SHARED_MNIST.resolve())
    assert any("8,000 training and 2,000 test images" in c.value for c in at.caption)
    assert not any("60,000" in c.value for c in at.caption)
    assert int(metric(at, "Training")) + int(metric(at, "Validation")) == 8000
    assert int(metric(at, "Test")) == 2000


def test_an_offline_copy_found_on_this_machine_is_one_click(
        open_page: Callable[[str], AppTest], metric: Metric, runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = runs_dir.parent / "offline" / "tiny" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for part, n in (("train", 40), ("t10k", 20)):
        images = rng.integers(0, 255, (n, 28, 28), dtype=np.uint8)
        labels = np.tile(np.arange(10, dtype=np.uint8), n // 10)
        (raw / f"{part}-images-idx3-ubyte").write_bytes(
            np.array([0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 28, 0, 0, 0, 28], np.uint8).tobytes()
            + images.tobytes())
        (raw / f"{part}-labels-idx1-ubyte").write_bytes(
            np.array([0, 0, 8, 1, 0, 0, 0, n], np.uint8).tobytes() + labels.tobytes())
    monkeypatch.chdir(runs_dir.parent)  # the studio looks in ./data and ../shared/data
    (runs_dir.parent / "data").symlink_to(runs_dir.parent / "offline")
    at = open_page("data.py")
    at.selectbox(key="w.data.name").set_value("mnist").run()
    buttons = [b for b in at.button if b.label.startswith("Use the copy in")]
    assert len(buttons) == 1 and buttons[0].label.endswith("tiny")
    buttons[0].click().run()
    assert not at.exception
    assert at.session_state[CONFIG_KEY].data.root.endswith("tiny")
    assert int(metric(at, "Test")) == 20


def test_the_encoding_view_follows_the_models_front(open_page: Callable[[str], AppTest]) -> None:
    from dataclasses import replace

    from hqnn_core.config import ModelConfig, RunConfig

    at = open_page("data.py")
    caption = next(c.value for c in at.caption if "numbers per image" in c.value)
    assert "trained to choose" in caption  # the default hybrid model has a linear front
    at.session_state[CONFIG_KEY] = replace(RunConfig(), model=ModelConfig(kind="quantum"))
    at.run()
    caption = next(c.value for c in at.caption if "numbers per image" in c.value)
    assert "fixed PCA keeps 8 principal components" in caption
    assert len(at.get("plotly_chart")) == 3
