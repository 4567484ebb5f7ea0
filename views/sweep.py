"""Sweep: a search over the studio's configuration on Ray Tune, built with widgets or pasted as
JSON; Start / Stop / Resume, the live trial table, the best so far, parameters against
validation accuracy, the top trials' learning curves, the best configuration to use, the
equal-budget comparison, and the command line that reproduces it."""

import streamlit as st

from hqnn_core.errors import HqnnError
from hqnn_ui import state
from hqnn_ui.sweep_view import (live_panel, results, session_sweep, spec_editor, start_button,
                                start_sweep)

st.title("Sweep")
st.caption("Search configurations around the current one. Trials run on Ray (one per core) as "
           "normal runs, selected on the validation split; the best is retrained on each seed "
           "and measured on the test split. The sweep keeps running while you use other pages.")

job = session_sweep()
running = job is not None and job.snapshot().active
spec = spec_editor(state.current_config())
if start_button(spec, running) and spec is not None:
    try:
        start_sweep(spec)
        st.rerun()
    except HqnnError as exc:
        st.error(str(exc))

if job is None:
    st.info("Choose what to search and press **Start sweep**. Its trials appear here as they "
            "run; they are also listed on the Experiments page.")
else:
    live_panel(job)
    results(job)
