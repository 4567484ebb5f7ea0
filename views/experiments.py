"""Experiments: every run in the run index; select runs to compare their learning curves,
download a run's configuration and weights, reproduce it from the command line, delete it."""

import hashlib
from datetime import datetime

import pandas as pd
import streamlit as st

from hqnn_core.learning.checkpoint import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, read_json
from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError
from hqnn_ui import state
from hqnn_ui.runs import list_runs, run_store

CONFIRM_KEY = "experiments_confirm_delete"


def runs_table(runs: list) -> pd.DataFrame:
    """One row per run, in the order of ``runs``."""
    return pd.DataFrame([{
        "run": r.name,
        "dataset": r.dataset,
        "circuit": f"{r.n_qubits} qubits · {r.encoding}",
        "kind": r.kind,
        "accuracy": r.test_accuracy,
        "time (s)": r.train_seconds,
        "status": r.status,
        "created": datetime.fromtimestamp(r.created),
    } for r in runs])


def table_key(runs: list) -> str:
    """A table key that changes with the set of runs, so a selection never shifts rows."""
    digest = hashlib.sha1(",".join(r.id for r in runs).encode()).hexdigest()[:10]
    return f"runs_table_{digest}"


def learning_curves(chosen: list) -> None:
    """The learning curves of the selected runs, side by side in one figure."""
    from hqnn_core.viz.training import learning_curves_figure

    histories = {}
    for run in chosen:
        try:
            metrics = read_json(run.path / METRICS_FILE)
        except HqnnError:
            continue
        if metrics.get("history"):
            histories[run.name] = metrics["history"]
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
    st.warning(f"Delete run {run.name} and all its files? This cannot be undone.")
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
        st.toast(f"Deleted run {run.name}.")
        st.rerun()
    if no.button("Cancel", key="experiments_delete_no"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()


def run_details(run) -> None:
    """Downloads, the command line that reproduces the run, and its configuration."""
    st.subheader(f"Run {run.name}")
    config_path, weights_path = run.path / CONFIG_FILE, run.path / WEIGHTS_FILE
    try:
        cfg = RunConfig.from_saved(read_json(config_path))
    except HqnnError as exc:
        st.error(str(exc))
        return
    c = st.columns(3)
    c[0].download_button("Download config.json", cfg.to_json(), "config.json",
                         mime="application/json", icon=":material/download:", on_click="ignore")
    if weights_path.is_file():
        c[1].download_button("Download model.safetensors", weights_path.read_bytes(),
                             "model.safetensors", mime="application/octet-stream",
                             icon=":material/download:", on_click="ignore")
    else:
        c[1].caption("No trained weights in this run yet.")
    if c[2].button("Use this configuration", icon=":material/tune:", key="experiments_use"):
        state.set_config(cfg)
        st.toast("The studio now uses this run's configuration.")
    st.markdown("Reproduce it from the command line:")
    st.code(f"hqnn train config.json --out runs/{run.id}", language="bash")
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
