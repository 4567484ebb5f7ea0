"""AppTest of views/classify.py: renders, an injected drawing gets a Prediction, bad uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_core.learning.runs import RunStore
from hqnn_core.learning.training import fit

ROOT = Path(__file__).resolve().parents[2]
CANVAS = "classify_canvas"


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny hybrid and a tiny classical digits model in a fresh run store."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    runs = {}
    for kind in ("hybrid", "classical"):
        cfg = RunConfig(data=DataConfig(name="digits", train_size=100, test_size=30),
                        circuit=CircuitConfig(n_qubits=3, layers=1),
                        model=ModelConfig(kind=kind), train=TrainConfig(epochs=1, batch_size=32))
        runs[kind] = store.new_run_dir(cfg)
        fit(cfg, run_dir=runs[kind])
    return runs


@pytest.fixture()
def studio_on(trained_runs: dict[str, Path], runs_dir: Path,
              monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Open the Classify page of the studio on the store holding ``trained_runs``."""
    monkeypatch.setenv("HQNN_RUNS_DIR", str(trained_runs["hybrid"].parent))

    def _open(run: Path | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        if run is not None:
            at.session_state["selected_run"] = str(run)
        at.run()
        return at.switch_page("views/classify.py").run()

    return _open


def drawn_one() -> np.ndarray:
    """A 280x280 RGBA canvas image: a white vertical stroke on black, as the canvas returns."""
    image = np.zeros((280, 280, 4), dtype=np.uint8)
    image[..., 3] = 255
    image[50:230, 131:149, :3] = 255
    return image


def test_renders_and_asks_for_a_drawing(studio_on) -> None:
    at = studio_on()
    assert not at.exception
    labels = at.selectbox(key="classify_model").options
    assert sum("Run ·" in label for label in labels) == 2
    assert any("Draw a digit" in i.value for i in at.info) and not at.metric


def test_injected_drawing_yields_a_prediction_and_the_quantum_state(
        studio_on, trained_runs: dict[str, Path]) -> None:
    at = studio_on(trained_runs["hybrid"])
    at.session_state[f"{CANVAS}__injected"] = drawn_one()
    at.run()
    assert not at.exception and not at.error
    prediction = [m for m in at.metric if m.label == "Prediction"]
    assert len(prediction) == 1 and prediction[0].value in [str(d) for d in range(10)]
    assert len(at.get("plotly_chart")) == 4  # class bars, Bloch spheres, basis states, purity
    assert tuple(at.session_state["last_drawing"].shape) == (1, 8, 8)


def test_the_slider_steps_through_encoding_and_each_layer(
        studio_on, trained_runs: dict[str, Path]) -> None:
    at = studio_on(trained_runs["hybrid"])
    at.session_state[f"{CANVAS}__injected"] = drawn_one()
    at.run()
    slider = at.select_slider(key="classify_step")
    assert list(slider.options) == ["encoding", "layer 1"]
    assert slider.value == "layer 1"  # the final state first
    final_caption = next(c.value for c in at.caption if "State after" in c.value)
    slider.set_value("encoding").run()
    assert not at.exception
    caption = next(c.value for c in at.caption if "State after" in c.value)
    assert "**encoding**" in caption and "Q = 0.00" in caption  # angle encoding: product state
    assert caption != final_caption


def test_classical_model_says_it_has_no_quantum_state(
        studio_on, trained_runs: dict[str, Path]) -> None:
    at = studio_on(trained_runs["classical"])
    at.session_state[f"{CANVAS}__injected"] = drawn_one()
    at.run()
    assert [m.label for m in at.metric] == ["Prediction"]
    assert any("no quantum state" in i.value for i in at.info)


def test_a_bad_upload_is_one_sentence(studio_on, trained_runs: dict[str, Path]) -> None:
    at = studio_on(trained_runs["hybrid"])
    at.file_uploader(key="classify_upload").upload("digit.png", b"not an image", "image/png")
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value


def test_the_digits_demo_is_the_default_and_reads_a_drawn_one(studio_on) -> None:
    if not (ROOT / "assets" / "models" / "digits-hybrid" / "config.json").is_file():
        pytest.skip("the digits demo model is not shipped in this checkout")
    at = studio_on()
    assert at.selectbox(key="classify_model").value == "Demo · digits-hybrid"
    at.session_state[f"{CANVAS}__injected"] = drawn_one()
    at.run()
    assert [m.value for m in at.metric if m.label == "Prediction"] == ["1"]


def png_of_a_zero() -> bytes:
    """A PNG of a drawn 0 (white ring on black)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(image).ellipse((70, 40, 210, 240), outline=255, width=20)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def said(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if m.value.startswith("Classifying"))


def test_whatever_was_touched_last_is_classified_and_the_page_says_which(
        studio_on, trained_runs: dict[str, Path]) -> None:
    at = studio_on(trained_runs["hybrid"])
    at.session_state[f"{CANVAS}__injected"] = drawn_one()
    at.run()
    assert said(at).startswith("Classifying your drawing")
    at.file_uploader(key="classify_upload").upload("zero.png", png_of_a_zero(), "image/png")
    at.run()
    assert not at.exception
    assert said(at).startswith("Classifying your upload **zero.png**")
    wider = drawn_one()
    wider[50:230, 100:180, :3] = 255
    at.session_state[f"{CANVAS}__injected"] = wider  # a new stroke after the upload
    at.run()
    assert said(at).startswith("Classifying your drawing; your upload zero.png is set aside")
    assert tuple(at.session_state["last_drawing"].shape) == (1, 8, 8)
