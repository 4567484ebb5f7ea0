"""Streamlit pieces of the Sweep page: the spec editor, this browser's sweep, its live panel
and its results. Computation lives in ``hqnn_core.studio.sweep_studio`` and ``viz.sweeps``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from hqnn_core.config import RunConfig
from hqnn_core.errors import ConfigError
from hqnn_core.studio import sweep_studio as core
from hqnn_core.studio.sweep_job import SweepJob
from hqnn_core.sweeps.compare import CompareSpec
from hqnn_core.sweeps.report import final_line
from hqnn_core.sweeps.results import table_rows
from hqnn_core.sweeps.spec import SEARCHES, SweepSpec
from hqnn_core.sweeps.tracker import SweepSnapshot
from hqnn_core.viz.sweeps import best_so_far_figure, parallel_coordinates_figure
from hqnn_core.viz.training import learning_curves_figure
from hqnn_ui import state
from hqnn_ui.session import runs_root, session_key
from hqnn_ui.job_controls import stop_resume_row
from hqnn_ui.polling import job_fragment

POLL_SECONDS = 1.5
MODE_KEY, JSON_KEY, FLASH_KEY = "sweep_mode", "sweep_json", "sweep_flash"
BUILD, PASTE = "Build it here", "Paste JSON"
DEFAULT_KEYS = ["train.lr", "circuit.layers"]
Spec = SweepSpec | CompareSpec


def session_sweep() -> SweepJob | None:
    """This browser's latest sweep (running or ended)."""
    return core.get_sweep_registry().get(session_key())


def start_sweep(spec: Spec) -> SweepJob:
    """Start ``spec`` for this browser in a new folder beside the run store."""
    root = runs_root()
    return core.get_sweep_registry().start(session_key(), spec, core.default_sweeps_root(root),
                                           root)


def spec_editor(base: RunConfig) -> Spec | None:
    """The spec, built with widgets on ``base`` or pasted as JSON; None (and one sentence)
    while it is not valid."""
    mode = st.segmented_control("Describe the sweep", [BUILD, PASTE], default=BUILD,
                                key=MODE_KEY) or BUILD
    try:
        if mode == PASTE:
            if JSON_KEY not in st.session_state:  # start from the studio's configuration
                st.session_state[JSON_KEY] = core.spec_json(core.build_spec(
                    base, [core.Dimension("train.lr", "log_range", low=0.001, high=0.05)]))
            text = st.text_area("Sweep specification (JSON)", key=JSON_KEY, height=320,
                                help="A base run configuration, a space over its keys, a search "
                                     "and a budget; add \"baseline\" for a comparison.")
            return core.parse_spec_text(text)
        return _built_spec(base)
    except ConfigError as exc:
        st.error(str(exc))
        return None


def _built_spec(base: RunConfig) -> Spec:
    st.caption("The base is the studio's current configuration (Data, Circuit and Train pages).")
    left, right = st.columns([3, 2])
    keys = left.multiselect("Parameters to search", list(core.TUNABLE), default=DEFAULT_KEYS,
                            key="sweep_keys")
    search = right.segmented_control("Search", SEARCHES, default="random",
                                     key="sweep_search") or "random"
    dims = [_dimension(key, search) for key in keys]
    cols = st.columns(4)
    trials = cols[0].number_input("Trials", 1, 500, 8, key="sweep_trials",
                                  disabled=search == "grid",
                                  help="A grid search runs every point of its grid.")
    minutes = cols[1].number_input("Time budget (minutes, 0 = none)", 0.0, 7 * 24 * 60.0,
                                   0.0, step=1.0, key="sweep_minutes")
    seeds = cols[2].text_input("Seeds of the final re-training", "1, 2, 3", key="sweep_seeds")
    name = cols[3].text_input("Name", "studio", key="sweep_name")
    cols = st.columns([1, 1, 2, 1])
    asha = cols[0].toggle("Stop poor trials early (ASHA)", True, key="sweep_asha")
    finalists = cols[1].number_input(
        "Finalists", 1, 10, 1, key="sweep_finalists",
        help="Retrain the top N trials on every seed and choose the best mean validation "
             "accuracy: steadier than one trial's score on a small validation split.")
    compare = cols[2].toggle("Compare: tune the hybrid, its classical twin and a raw-pixel "
                             "baseline with the same budget", False, key="sweep_compare")
    baseline = cols[3].selectbox("Baseline", core.BASELINES, key="sweep_baseline",
                                 disabled=not compare)
    return core.build_spec(base, dims, name=name, search=search, trials=int(trials),
                           minutes=float(minutes) or None, early_stopping=asha,
                           seeds=_seeds(seeds), finalists=int(finalists),
                           baseline=baseline if compare else None)


def _seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise ConfigError(f"Seeds must be whole numbers separated by commas, got {text!r}.") \
            from None


def _dimension(key: str, search: str) -> core.Dimension:
    """The widgets of one search dimension."""
    kind, *bounds = core.TUNABLE[key]
    if kind == "choice":
        options = list(bounds[0])
        values = st.multiselect(f"{key}: values", options, default=options[:2],
                                key=f"sweep_dim_{key}", format_func=str)
        return core.Dimension(key, "choice", tuple(values))
    low, high = bounds
    cols = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    whole = kind == "int"
    step: Any = 1 if whole else None
    fmt = "%d" if whole else "%g"
    lo = cols[0].number_input(f"{key}: from", value=low, step=step, format=fmt,
                              key=f"sweep_lo_{key}")
    hi = cols[1].number_input(f"{key}: to", value=high, step=step, format=fmt,
                              key=f"sweep_hi_{key}")
    log = cols[2].checkbox("log scale", kind == "log", key=f"sweep_log_{key}")
    steps = None
    if search == "grid" and not whole:
        steps = int(cols[3].number_input("grid points", 2, 20, 3, key=f"sweep_steps_{key}"))
    if whole:
        lo, hi = int(lo), int(hi)
    return core.Dimension(key, "log_range" if log else "range", low=lo, high=hi, steps=steps)


def start_button(spec: Spec | None, running: bool) -> bool:
    """Start sweep (disabled while a sweep runs or the spec is not valid)."""
    if spec is not None:
        total = (spec.arms["hybrid"] if isinstance(spec, CompareSpec) else spec).n_trials()
        arms = " per model (hybrid, twin, baseline)" if isinstance(spec, CompareSpec) else ""
        st.caption(f"{total if total is not None else 'As many'} trials{arms}, then the best "
                   "configuration retrained on each seed and measured on the test split.")
    return st.button("Start sweep", type="primary", icon=":material/play_arrow:",
                     disabled=spec is None or running, key="sweep_start")


def live_panel(job: SweepJob) -> None:
    """Controls, progress, the trial table and the search figures; polls while it runs."""
    job_fragment(_panel, job, active=lambda: job.snapshot().active, every=POLL_SECONDS)


def _panel(job: SweepJob) -> None:
    snap = job.snapshot()
    _controls(job, snap)
    st.progress(core.progress_fraction(snap, core.budget_minutes(job)),
                text=core.progress_line(snap))
    if snap.trials:
        st.dataframe(pd.DataFrame(table_rows(snap.trials, snap.keys)), hide_index=True,
                     key="sweep_trials_table")
    left, right = st.columns(2)
    with left:
        axis = st.segmented_control("Best so far against", ["trial", "time"], default="trial",
                                    key="sweep_axis") or "trial"
        st.plotly_chart(best_so_far_figure(snap.trials, axis), key="sweep_best_so_far")
    with right:
        st.markdown("**Parameters against validation accuracy**")
        st.plotly_chart(parallel_coordinates_figure(snap.trials, snap.keys), key="sweep_parcoords")


def _controls(job: SweepJob, snap: SweepSnapshot) -> None:
    stop_resume_row(job, snap, key="sweep", can_stop=snap.active,
                    can_resume=snap.status in ("interrupted", "failed"))


def results(job: SweepJob) -> None:
    """The best configuration (and a button to use it), the top trials' learning curves, the
    comparison table, and the command line that reproduces the sweep."""
    snap = job.snapshot()
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    best = core.best_config(job, snap)
    if best is not None:
        st.subheader("Best configuration")
        row = snap.best
        if row is not None and not core.is_compare(job):
            st.markdown(f"Trial **{core.trial_label(row, snap.keys)}**, validation accuracy "
                        f"**{row.val_acc:.1%}**. Retrained on the seeds: {final_line(snap.chosen_final)}.")
        if st.button("Use the best configuration", icon=":material/check:", key="sweep_use_best"):
            state.set_config(best)
            st.session_state[FLASH_KEY] = ("The studio now uses the best configuration; train it "
                                           "on the Train page.")
            st.rerun()
    table = core.compare_table(job)
    if table is not None:
        rows, differences = table
        st.subheader("Equal-budget comparison (test split)")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="sweep_compare_table")
        for line in differences:
            st.markdown(f"- {line}")
    histories = core.top_histories(snap, runs_root())
    if histories:
        st.subheader("Learning curves of the top trials")
        st.plotly_chart(learning_curves_figure(histories), key="sweep_top_curves")
    st.markdown("**Reproduce this sweep from a terminal**")
    st.code(job.command, language="bash")
