"""Train: hyperparameters, Start / Stop / Resume, live learning curves, then the results."""

import streamlit as st

from hqnn_core.errors import HqnnError
from hqnn_ui import state
from hqnn_ui.session import session_job, start_job
from hqnn_ui.sidebar import circuit_label, dataset_title
from hqnn_ui.training_view import hyperparameter_form, live_panel, results

st.title("Train")
cfg = state.current_config()
st.caption(f"{dataset_title(cfg.data.name)} · {cfg.model.kind} model · {circuit_label(cfg)}. "
           "Change these on the Data and Circuit pages.")

job = session_job()
running = job is not None and job.snapshot().active
try:
    started = hyperparameter_form(cfg, running=running)
    if started is not None:
        new_cfg, twin = started
        start_job(new_cfg, twin=twin)
        st.rerun()  # the sidebar and the live panel both see the new job
except HqnnError as exc:
    st.error(str(exc))

if job is None:
    st.info("Set the hyperparameters and press **Start training**. Training runs in the "
            "background: you can switch pages or reload and come back to it.")
else:
    live_panel(job)
    results(job.snapshot())
