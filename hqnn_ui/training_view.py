"""Streamlit pieces of the Train page: the hyperparameter form, the live panel, results.

The live panel is a fragment that re-runs every ``POLL_SECONDS`` while the job is
active and reads only ``job.snapshot()``; when the job ends it re-runs the whole page
once so polling stops and the results appear.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from hqnn_core.config import OPTIMIZERS, SCHEDULES, RunConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio.jobs import Evaluation, JobSnapshot, TrainingJob
from hqnn_core.viz.training import (confusion_matrix_figure, learning_curves_figure,
                                    misclassified_gallery)
from hqnn_ui.maps_view import learning_map_view

POLL_SECONDS = 1.0
BATCH_SIZES = (8, 16, 32, 64, 128, 256)
GALLERY_COLUMNS = 8
TILE_PIXELS = 64
TWIN_KEY = "train_twin"


def hyperparameter_form(cfg: RunConfig, *, running: bool) -> tuple[RunConfig, bool] | None:
    """The hyperparameter form; on Start, the configuration to train and the twin choice.

    Raises ``HqnnError`` (one sentence) if the values make an impossible configuration.
    """
    t = cfg.train
    with st.form("hyperparameters", border=True):
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input("Epochs", min_value=1, max_value=500, value=t.epochs)
        batch_size = c2.selectbox("Batch size", sorted({*BATCH_SIZES, t.batch_size}),
                                  index=sorted({*BATCH_SIZES, t.batch_size}).index(t.batch_size))
        lr = c3.number_input("Learning rate", min_value=1e-5, max_value=10.0, value=float(t.lr),
                             step=1e-3, format="%.4f")
        seed = c4.number_input("Seed", min_value=0, max_value=2**31 - 1, value=t.seed)
        c5, c6, c7, c8 = st.columns(4)
        optimizer = c5.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(t.optimizer))
        schedule = c6.selectbox("Learning-rate schedule", SCHEDULES,
                                index=SCHEDULES.index(t.schedule))
        augment = c7.checkbox("Augment images", value=cfg.data.augment,
                              help="Small random shifts, rotations and stroke widths.")
        twin = c8.checkbox("Classical twin alongside", key=TWIN_KEY,
                           help="The same network with the circuit replaced by a classical "
                                "layer of the same width, trained after it for comparison.")
        started = st.form_submit_button("Start training", type="primary",
                                        icon=":material/play_arrow:", disabled=running)
    if not started:
        return None
    train = dataclasses.replace(t, epochs=int(epochs), batch_size=int(batch_size), lr=float(lr),
                                seed=int(seed), optimizer=optimizer, schedule=schedule)
    data = dataclasses.replace(cfg.data, augment=bool(augment))
    return dataclasses.replace(cfg, train=train, data=data), bool(twin)


def live_panel(job: TrainingJob) -> None:
    """Controls, progress and learning curves; polls while the job is active."""
    active = job.snapshot().active
    st.fragment(_panel, run_every=POLL_SECONDS if active else None)(job, active)


def _panel(job: TrainingJob, was_active: bool) -> None:
    snap = job.snapshot()
    if was_active and not snap.active:
        st.rerun()  # the whole page once more: stop polling, show the results
    _controls(job, snap)
    _progress(snap)
    if snap.batches or snap.epochs:
        st.plotly_chart(learning_curves_figure(snap.histories()), key="learning_curves")
    learning_map_view(snap)


def _controls(job: TrainingJob, snap: JobSnapshot) -> None:
    left, middle, right = st.columns([1, 1, 4], vertical_alignment="center")
    if left.button("Stop", icon=":material/stop:", disabled=snap.status != "running",
                   key="train_stop"):
        job.stop()
        snap = job.snapshot()
    if middle.button("Resume", icon=":material/replay:", disabled=snap.status != "stopped",
                     key="train_resume"):
        try:
            job.resume()
        except HqnnError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    right.markdown(f"**Status:** {snap.status} · {snap.message}")
    if snap.error:
        st.error(snap.error)


def _progress(snap: JobSnapshot) -> None:
    q = snap.quantum
    text = f"epoch {q.epoch} of {q.epochs} · step {q.step} of {q.total_steps or '?'}"
    if snap.twin is not None and q.done:
        text = (f"classical twin · epoch {snap.twin.epoch} of {snap.twin.epochs} · "
                f"step {snap.twin.step} of {snap.twin.total_steps or '?'}")
    if snap.eta_seconds is not None:
        text += f" · about {_duration(snap.eta_seconds)} left"
    st.progress(snap.fraction, text=text)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def results(snap: JobSnapshot) -> None:
    """Test accuracy (beside the twin's), confusion matrix and misclassified samples."""
    evaluation = snap.quantum.evaluation
    if evaluation is None:
        return
    st.subheader("Results on the test split")
    twin_eval = snap.twin.evaluation if snap.twin is not None else None
    cols = st.columns(3)
    cols[0].metric("Test accuracy", f"{evaluation.accuracy:.1%}")
    if twin_eval is not None:
        cols[1].metric("Classical twin", f"{twin_eval.accuracy:.1%}",
                       delta=f"{twin_eval.accuracy - evaluation.accuracy:+.1%} vs quantum",
                       delta_color="off")
    cols[2].caption(f"Run folder: `{snap.run_dir}`")
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Confusion matrix**")
        st.plotly_chart(confusion_matrix_figure(evaluation.confusion, evaluation.class_names),
                        key="confusion_matrix")
    with right:
        _gallery(evaluation)


def _gallery(evaluation: Evaluation) -> None:
    items = misclassified_gallery(evaluation.misclassified_images, evaluation.misclassified_true,
                                  evaluation.misclassified_pred, evaluation.class_names,
                                  limit=2 * GALLERY_COLUMNS)
    st.markdown(f"**Misclassified test samples** (true → predicted; {len(items)} shown)")
    if not items:
        st.caption("No test sample was misclassified.")
        return
    for start in range(0, len(items), GALLERY_COLUMNS):
        row = items[start:start + GALLERY_COLUMNS]
        for column, item in zip(st.columns(GALLERY_COLUMNS), row):
            column.image(_upscale(item.image), caption=item.caption, width=TILE_PIXELS)


def _upscale(image: np.ndarray) -> np.ndarray:
    """Nearest-neighbour enlargement so tiny images (8x8 digits) stay crisp."""
    factor = max(1, TILE_PIXELS // image.shape[0])
    return np.kron(image, np.ones((factor, factor) + (1,) * (image.ndim - 2)))
