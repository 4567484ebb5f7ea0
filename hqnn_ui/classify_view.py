"""Streamlit pieces of the Classify page: the model picker and the answer."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from hqnn_core.data.images import read_image
from hqnn_core.errors import HqnnError
from hqnn_core.learning.inference import Classification
from hqnn_core.learning.runs import LoadedRun, RunStore, load_run
from hqnn_core.studio import warmup
from hqnn_core.viz.figures import class_probability_figure
from hqnn_ui import state
from hqnn_ui.runs import DEMO_MODELS, demo_model_dir
from hqnn_ui.session import runs_root

log = logging.getLogger(__name__)

PICKER_KEY = "classify_model"
UPLOAD_KEY = "classify_upload"
SOURCE_KEY = "classify_source"  # "draw" or "upload": what the person touched last
DRAWN_KEY = "classify_drawn"  # digest of the last drawing seen
VIEW_PIXELS = 160


def demo_models() -> list[Path]:
    """Shipped demo run folders under ``assets/models/``."""
    if not DEMO_MODELS.is_dir():
        return []
    return sorted(p.resolve() for p in DEMO_MODELS.iterdir() if (p / "config.json").is_file())


def model_options() -> dict[str, str]:
    """Label -> run folder of every model that can classify: demos first, then your runs."""
    options = {f"Demo · {p.name}": str(p) for p in demo_models()}
    try:
        runs = RunStore(runs_root()).list(status="completed")
    except HqnnError as exc:
        log.warning("Cannot list runs: %s", exc)
        runs = []
    for run in runs:
        accuracy = f" · {run.test_accuracy:.0%}" if run.test_accuracy is not None else ""
        options[f"Run · {run.id} ({run.dataset}, {run.kind}{accuracy})"] = str(run.path.resolve())
    return options


def model_picker() -> str | None:
    """A selectbox of models; defaults to ``selected_run``, else the digits demo model.

    The choice becomes the session's ``selected_run`` (the Hardware page reads it too).
    """
    options = model_options()
    if not options:
        return None
    paths = list(options.values())
    wanted = st.session_state.get(state.SELECTED_RUN_KEY) or demo_model_dir()
    wanted = str(Path(wanted).resolve()) if wanted else None
    index = paths.index(wanted) if wanted in paths else 0
    label = st.selectbox("Model", list(options), index=index, key=PICKER_KEY,
                         help="Shipped demo models and the runs you trained.")
    st.session_state[state.SELECTED_RUN_KEY] = options[label]
    return options[label]


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _cached_run(path: str, stamp: float) -> LoadedRun:
    warmup.wait_for_kernel()  # the first answer then loads compiled code, not compiles it
    return load_run(path)


def load_model(path: str) -> LoadedRun:
    """The run at ``path``, loaded once per version of its weights file."""
    weights = Path(path) / "model.safetensors"
    stamp = weights.stat().st_mtime if weights.exists() else 0.0
    return _cached_run(path, stamp)


def model_view(answer: Classification) -> None:
    """What the model sees (the preprocessed input), enlarged with crisp pixels."""
    image = answer.model_input.numpy()
    image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    factor = max(1, VIEW_PIXELS // image.shape[0])
    big = np.kron(image, np.ones((factor, factor) + (1,) * (image.ndim - 2)))
    st.image(np.clip(big, 0.0, 1.0), caption=f"What the model sees ({image.shape[1]}×"
             f"{image.shape[0]})", width=VIEW_PIXELS)


def answer_view(answer: Classification) -> None:
    """The predicted class beside what the model sees, then the class probabilities."""
    metric, view = st.columns(2, vertical_alignment="center")
    metric.container(key="prediction").metric(
        "Prediction", answer.label, delta=f"{answer.probabilities[answer.predicted]:.0%} sure",
        delta_color="off")
    with view:
        model_view(answer)
    st.plotly_chart(class_probability_figure(answer.probabilities, answer.class_names),
                    key="class_probabilities")


def _mark_upload() -> None:
    """The uploader changed: an added file is now what the person touched last."""
    st.session_state[SOURCE_KEY] = "upload"


def upload_input() -> Any:
    """The file uploader; adding a file makes it the input until the canvas is drawn on."""
    return st.file_uploader("An image (PNG, JPEG, …)", type=None, key=UPLOAD_KEY,
                            on_change=_mark_upload)


def chosen_input(drawing: np.ndarray | None, upload: Any) -> tuple[Any, str]:
    """Whatever the person touched last, drawing or upload, and one line saying which.

    A new stroke makes the drawing the input, a new file the upload; when the last one
    touched is empty (the canvas cleared, the file removed) the other one is used.
    """
    digest = None if drawing is None else hashlib.sha1(drawing.tobytes()).hexdigest()
    if digest != st.session_state.get(DRAWN_KEY):
        st.session_state[DRAWN_KEY] = digest
        if digest is not None:
            st.session_state[SOURCE_KEY] = "draw"
    source = st.session_state.get(SOURCE_KEY, "draw")
    if source == "upload" and upload is None:
        source = "draw"
    if source == "draw" and drawing is None and upload is not None:
        source = "upload"
    if source == "upload":
        other = "; draw on the canvas to classify your drawing instead" if drawing is not None \
            else ""
        return read_image(upload.getvalue()), f"Classifying your upload **{upload.name}**{other}."
    if drawing is None:
        return None, ""
    other = (f"; your upload {upload.name} is set aside until you upload a file again"
             if upload is not None else "")
    return drawing, f"Classifying your drawing{other}."
