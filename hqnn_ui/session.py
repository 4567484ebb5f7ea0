"""Which browser session this is, and its training job in the process-wide registry.

Streamlit's session state is lost when a page is reloaded, so the session's key also
travels in the URL (``?session=...``): a reloaded page finds the job it started instead
of starting a second one, while another browser session gets a key of its own.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import streamlit as st

from hqnn_core.config import RunConfig
from hqnn_core.studio.jobs import TrainingJob, get_registry
from hqnn_core.learning.runs import default_runs_root
from hqnn_ui import state

SESSION_PARAM = "session"
SESSION_KEY = "hqnn_session_key"
_VALID = re.compile(r"^[0-9a-f]{12,32}$")


def session_key() -> str:
    """This browser session's key, kept in session state and mirrored into the URL."""
    key = st.session_state.get(SESSION_KEY)
    if key is None:
        from_url = st.query_params.get(SESSION_PARAM, "")
        key = from_url if _VALID.match(from_url) else uuid.uuid4().hex[:16]
        st.session_state[SESSION_KEY] = key
    if st.query_params.get(SESSION_PARAM) != key:
        st.query_params[SESSION_PARAM] = key
    return key


def runs_root() -> Path:
    """Where this studio keeps its runs (``HQNN_RUNS_DIR`` or ./runs)."""
    return default_runs_root()


def session_job() -> TrainingJob | None:
    """The session's training job (running or finished), also found after a reload."""
    job = get_registry().get(session_key()) or state.current_job()
    if job is not None and state.current_job() is not job:
        state.set_job(job)
    return job


def start_job(cfg: RunConfig, *, twin: bool) -> TrainingJob:
    """Start training ``cfg`` for this session (or return the job already running)."""
    job = get_registry().start(session_key(), cfg, runs_root(), twin=twin)
    state.set_job(job)
    return job
