"""Experiments: every run in the run index; select runs to compare their learning curves,
name and tag a run, download its configuration and weights, reproduce it from the command
line, delete it."""

import hashlib
from pathlib import Path
from datetime import datetime

import pandas as pd
import streamlit as st

from hqnn_core.learning.checkpoint import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, read_json
from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio.experiments import (chart_labels, display_name, person_tags,
                                          portable_config, rename, reproduce_command)
from hqnn_ui import state
from hqnn_ui.runs import list_runs, run_store
from hqnn_ui.sidebar import circuit_label

CONFIRM_KEY = "experiments_confirm_delete"


@st.cache_data(max_entries=512, show_spinner=False)
def circuit_of(config_path: str, stamp: float) -> str:
    """The whole circuit of a run in one line (qubits, encoding, ansatz, layers, ...)."""
    try:
        return circuit_label(RunConfig.from_json(Path(config_path)))
    except HqnnError:
        return "unreadable config.json"


def runs_table(runs: list) -> pd.DataFrame:
    """One row per run, in the order of ``runs``."""
    return pd.DataFrame([{
        "run": label,
        "tags": ", ".join(person_tags(r)),
        "dataset": r.dataset,
        "circuit": circuit_of(str(r.path / CONFIG_FILE), _stamp(r.path / CONFIG_FILE)),
        "kind": r.kind,
        "accuracy": r.test_accuracy,
        "time (s)": r.train_seconds,
        "status": r.status,
        "created": datetime.fromtimestamp(r.created),
    } for r, label in zip(runs, chart_labels(runs))])


def _stamp(path) -> float:
    return path.stat().st_mtime if path.is_file() else 0.0


def table_key(runs: list) -> str:
    """A table key that changes with the set of runs, so a selection never shifts rows."""
    digest = hashlib.sha1(",".join(r.id for r in runs).encode()).hexdigest()[:10]
    return f"runs_table_{digest}"


def learning_curves(chosen: list) -> None:
    """The learning curves of the selected runs, one line each even when names repeat."""
    from hqnn_core.viz.training import learning_curves_figure

    histories = {}
    for run, label in zip(chosen, chart_labels(chosen)):
        try:
            metrics = read_json(run.path / METRICS_FILE)
        except HqnnError:
            continue
        if metrics.get("history"):
            histories[label] = metrics["history"]
    if histories:
        st.plotly_chart(learning_curves_figure(histories), key="experiments_curves")
    else:
        st.caption("The selected runs have no learning curves yet.")


def delete_control(run) -> None:
    """Delete a run after a second, explicit confirmation."""
    if st.session_state.get(CONFIRM_KEY) != run.id:
        if st.button("Delete this run", icon=":material/delete:", key="experiments_delete"):
            st.session_state[CONFIRM_KEY] = run.id
            st.rerun()
        return
    st.warning(f"Delete run {display_name(run)} and all its files? This cannot be undone.")
    yes, no = st.columns(2)
    if yes.button("Yes, delete it", type="primary", key="experiments_delete_yes"):
        try:
            run_store().delete(run.id)
        except HqnnError as exc:
            st.error(str(exc))
            return
        if st.session_state.get(state.SELECTED_RUN_KEY) == str(run.path):
            del st.session_state[state.SELECTED_RUN_KEY]
        st.session_state.pop(CONFIRM_KEY, None)
        st.toast(f"Deleted run {display_name(run)}.")
        st.rerun()
    if no.button("Cancel", key="experiments_delete_no"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()


def name_and_tags(run) -> None:
    """Fields to name the run and tag it; Save writes them into the run's tags.json."""
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    name = left.text_input("Name", value=run.tags.get("name", ""), placeholder=run.name,
                           key=f"experiments_name_{run.id}")
    tags = middle.text_input("Tags (comma-separated)", value=run.tags.get("tags", ""),
                             key=f"experiments_tags_{run.id}", placeholder="baseline, 4 qubits")
    if right.button("Save name and tags", key="experiments_rename"):
        try:
            rename(run_store(), run, name, tags)
        except HqnnError as exc:
            st.error(str(exc))
        else:
            st.toast("Saved.")
            st.rerun()


def run_details(run) -> None:
    """Name and tags, downloads, the command line that reproduces the run, its configuration."""
    st.subheader(f"Run {display_name(run)}")
    name_and_tags(run)
    config_path, weights_path = run.path / CONFIG_FILE, run.path / WEIGHTS_FILE
    try:
        cfg = RunConfig.from_saved(read_json(config_path))
    except HqnnError as exc:
        st.error(str(exc))
        return
    c = st.columns(3)
    c[0].download_button("Download config.json", portable_config(cfg).to_json(), "config.json",
                         mime="application/json", icon=":material/download:", on_click="ignore",
                         help="With the data folder as an absolute path, so it trains the same "
                              "from any folder.")
    if weights_path.is_file():
        c[1].download_button("Download model.safetensors", weights_path.read_bytes(),
                             "model.safetensors", mime="application/octet-stream",
                             icon=":material/download:", on_click="ignore")
    else:
        c[1].caption("No trained weights in this run yet.")
    if c[2].button("Use this configuration", icon=":material/tune:", key="experiments_use"):
        state.set_config(cfg)
        st.toast("The studio now uses this run's configuration.")
    st.markdown("Reproduce it from the command line, in the folder of the downloaded "
                "config.json (a new run folder beside this one):")
    st.code(reproduce_command(run, run_store()), language="bash")
    with st.expander("Configuration"):
        st.json(cfg.to_dict())
    delete_control(run)


st.title("Experiments")
runs = list_runs()
if not runs:
    st.info("No runs yet: train a model on the Train page and it appears here.")
else:
    st.caption("Select one or more rows to compare their learning curves.")
    selection = st.dataframe(
        runs_table(runs), on_select="rerun", selection_mode="multi-row", hide_index=True,
        key=table_key(runs),
        column_config={
            "accuracy": st.column_config.ProgressColumn("test accuracy", format="percent",
                                                        min_value=0.0, max_value=1.0),
            "time (s)": st.column_config.NumberColumn(format="%.1f"),
            "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        })
    chosen = [runs[i] for i in selection.selection.rows if i < len(runs)]
    if chosen:
        st.session_state[state.SELECTED_RUN_KEY] = str(chosen[-1].path)
        learning_curves(chosen)
        run_details(chosen[-1])
