"""Streamlit pieces of the Train page: the hyperparameter form, the live panel, results.

The live panel is two fragments that read only ``job.snapshot()`` while the job is active:
the status, Stop / Resume and the progress bar re-run every ``POLL_SECONDS``, the learning
curves and maps every ``CHART_SECONDS``. Each chart redraw is a long task on the browser's
main thread, so drawing them every second kept a click waiting behind the redraws; the
status fragment is cheap, so Stop is taken at once. When the job ends, the first of their
re-runs to see it re-runs the whole page once, which stops polling and draws the results
(``hqnn_ui.polling`` owns that transition and keeps a late poll from losing the results).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from hqnn_core.config import OPTIMIZERS, SCHEDULES, RunConfig
from hqnn_core.errors import HqnnError
from hqnn_core.learning.resources import check as check_resources
from hqnn_core.learning.resources import gib
from hqnn_core.studio.background import duration
from hqnn_core.studio.jobs import Evaluation, JobSnapshot, TrainingJob
from hqnn_core.viz.training import (confusion_matrix_figure, learning_curves_figure,
                                    misclassified_gallery)
from hqnn_ui import forms, state
from hqnn_ui.job_controls import stop_resume_row
from hqnn_ui.maps_view import learning_map_view
from hqnn_ui.polling import job_fragment

POLL_SECONDS = 1.0
CHART_SECONDS = 3.0
BATCH_SIZES = (8, 16, 32, 64, 128, 256)
GALLERY_COLUMNS = 8
TILE_PIXELS = 64
TWIN_KEY = "train_twin"
SECTION = "train"
RECIPE_FIELDS = ("warmup", "weight_decay", "decay_angles", "patience", "restore_best")
TRAIN_FIELDS = ("epochs", "batch_size", "lr", "seed", "optimizer", "schedule", *RECIPE_FIELDS)


def _key(name: str) -> str:
    return forms.widget_key(SECTION, name)


def _shown(name: str) -> dict:
    return forms.shown(SECTION, name)


def _seed(cfg: RunConfig) -> None:
    """Put the configuration's hyperparameters into the widgets when it changed elsewhere."""
    t = cfg.train
    values = {name: getattr(t, name) for name in TRAIN_FIELDS}
    values.update(epochs=int(t.epochs), batch_size=int(t.batch_size), seed=int(t.seed),
                  lr=float(t.lr), warmup=float(t.warmup), weight_decay=float(t.weight_decay),
                  augment=cfg.data.augment)
    forms.seed_widgets(SECTION, values)


def _config_from_widgets(cfg: RunConfig) -> RunConfig:
    """The configuration the widgets describe; ``HqnnError`` (one sentence) if impossible."""
    train = {name: forms.value(SECTION, name) for name in TRAIN_FIELDS}
    train.update(epochs=int(train["epochs"]), seed=int(train["seed"]), lr=float(train["lr"]),
                 batch_size=int(train["batch_size"]), warmup=float(train["warmup"]),
                 weight_decay=float(train["weight_decay"]),
                 patience=int(train["patience"]) if train["patience"] else None)
    return dataclasses.replace(
        cfg, train=dataclasses.replace(cfg.train, **train),
        data=dataclasses.replace(cfg.data, augment=bool(forms.value(SECTION, "augment"))))


def hyperparameter_form(cfg: RunConfig, *, running: bool) -> tuple[RunConfig, bool] | None:
    """The hyperparameters, the estimate and Start; on Start, the configuration and twin choice.

    Every change applies at once (no form, so Enter only confirms a field). A value that
    makes an impossible configuration, a configuration over the memory limit and a job
    still running each disable Start with one sentence saying why.
    """
    _seed(cfg)
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns(4)
        c1.number_input("Epochs", min_value=1, max_value=10_000, step=1, **_shown("epochs"))
        sizes = sorted({*BATCH_SIZES, int(st.session_state[_key("batch_size")])})
        c2.selectbox("Batch size", sizes, **forms.shown_choice(SECTION, "batch_size", sizes))
        c3.number_input("Learning rate", step=1e-3, format="%.4f", **_shown("lr"),
                        help="Adam and SGD take a positive rate up to 10.")
        c4.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, **_shown("seed"))
        c5, c6, c7, c8 = st.columns(4)
        c5.selectbox("Optimizer", OPTIMIZERS, **forms.shown_choice(SECTION, "optimizer", OPTIMIZERS))
        c6.selectbox("Learning-rate schedule", SCHEDULES,
                     **forms.shown_choice(SECTION, "schedule", SCHEDULES))
        c7.checkbox("Augment images", **_shown("augment"),
                    help="Small random shifts, rotations and stroke widths.")
        twin = c8.checkbox("Classical twin alongside", key=TWIN_KEY,
                           help="The same network with the circuit replaced by a classical "
                                "layer of the same width, trained at the same time on the "
                                "same data, epoch by epoch beside it, for comparison.")
        _recipe_expander(has_validation=cfg.data.val_fraction > 0)
        reason = None
        try:
            new_cfg = _config_from_widgets(cfg)
            estimate = check_resources(new_cfg)
        except HqnnError as exc:
            new_cfg, reason = None, str(exc)
        else:
            state.set_config(new_cfg)
            forms.remember_widgets(SECTION, {**{n: getattr(new_cfg.train, n)
                                                for n in TRAIN_FIELDS},
                                             "augment": new_cfg.data.augment})
            st.caption(f"Estimated memory about **{gib(estimate.total_bytes)}** (limit "
                       f"{gib(estimate.limit_bytes)}) · time roughly "
                       f"**{duration(estimate.train_seconds)}** on this machine"
                       + (", with the twin training alongside" if twin else "") + ".")
        if reason:
            st.error(reason)
        elif running:
            reason = ("A training job is running in this browser; stop it below before "
                      "starting another.")
            st.caption(reason)
        started = st.button("Start training", type="primary", icon=":material/play_arrow:",
                            disabled=reason is not None, key="train_start")
    if not started or new_cfg is None:
        return None
    return new_cfg, bool(twin)


def _recipe_expander(*, has_validation: bool) -> None:
    """The recipe's less common keys (README "Training recipe"), closed until opened."""
    with st.expander("Advanced: training recipe", expanded=False):
        st.caption("The defaults are the recipe measured in the README's \"Training recipe\"."
                   + ("" if has_validation else " The validation share is 0 (Data page), so "
                      "early stopping and the best validation epoch have nothing to go by."))
        left, middle, right = st.columns(3)
        left.number_input(
            "Warm-up fraction", step=0.01, format="%.2f", **_shown("warmup"),
            disabled=st.session_state[_key("schedule")] != "warmup_cosine",
            help="The share of the steps over which the rate ramps up linearly before the "
                 "cosine (warmup_cosine schedule only); 0.05 guards Adam's first steps.")
        middle.number_input(
            "Weight decay", step=1e-4, format="%g", **_shown("weight_decay"),
            help="Pulls the classical weights towards 0 at every step; 0 (the default) is off.")
        middle.checkbox(
            "Decay the circuit's angles too", **_shown("decay_angles"),
            disabled=not st.session_state[_key("weight_decay")],
            help="Off by default: an angle is periodic, so pulling it towards 0 means nothing.")
        right.number_input(
            "Early-stopping patience", min_value=0, step=1, **_shown("patience"),
            placeholder="never",
            help="Stop after this many epochs without a better validation accuracy; blank or "
                 "0 never stops early (the default). Needs a validation split (Data page).")
        right.checkbox(
            "Test the best validation epoch's weights", **_shown("restore_best"),
            help="Off by default: on digits' 144 validation images the pick is noise and the "
                 "last, annealed weights tested 1.5 points better; use it with large "
                 "validation splits.")


def live_panel(job: TrainingJob) -> None:
    """Controls and progress above the learning curves and maps; each polls while active."""
    job_fragment(_status, job, active=lambda: job.active, every=POLL_SECONDS)
    job_fragment(_charts, job, active=lambda: job.active, every=CHART_SECONDS)


def _status(job: TrainingJob) -> None:
    snap = job.snapshot()
    _controls(job, snap)
    _progress(snap)


def _charts(job: TrainingJob) -> None:
    snap = job.snapshot()
    if snap.batches or snap.epochs:
        st.plotly_chart(learning_curves_figure(snap.histories()), key="learning_curves")
    learning_map_view(snap)


def _controls(job: TrainingJob, snap: JobSnapshot) -> None:
    stop_resume_row(job, snap, key="train", can_stop=snap.status == "running",
                    can_resume=snap.status == "stopped")


def _progress(snap: JobSnapshot) -> None:
    """One bar for the job; its text gives each model's epoch and step (they train together)."""
    parts = [f"epoch {p.epoch} of {p.epochs} · step {p.step} of {p.total_steps or '?'}"
             for p in snap.models()]
    text = parts[0]
    if snap.twin is not None:
        text = f"quantum {parts[0]} — classical twin {parts[1]}"
    if snap.eta_seconds is not None:
        text += f" · about {duration(snap.eta_seconds)} left"
    st.progress(snap.fraction, text=text)


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
