"""The Data page: dataset, classes and sizes change the session configuration."""

from __future__ import annotations

from typing import Callable

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
