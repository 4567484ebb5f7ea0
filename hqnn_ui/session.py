"""Which browser this is, and its training job in the process-wide registry.

A training job belongs to a *browser*, never to a link. The key that finds it is a random
128-bit secret kept in this Streamlit session and in a cookie (``hqnn_browser``, path
``/``, ``SameSite=Strict``) that a tiny script sets once per session. A reload opens a new
Streamlit session, whose websocket handshake carries the cookie, so the page finds the job
it started; tabs of the same browser share it. Links never carry it: a copied address-bar
URL opened in another browser gets a key of its own and cannot see or stop the job.
Old links with ``?session=...`` are accepted and the parameter is dropped unread.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import streamlit as st

from hqnn_core.config import RunConfig
from hqnn_core.learning.runs import default_runs_root
from hqnn_core.studio.jobs import TrainingJob, get_registry

COOKIE = "hqnn_browser"
COOKIE_DAYS = 30
LEGACY_PARAM = "session"
SESSION_KEY = "hqnn_session_key"
COOKIE_SENT_KEY = "hqnn_cookie_sent"
_VALID = re.compile(r"^[0-9a-f]{32}$")


def session_key() -> str:
    """This browser's secret key: from its cookie, else new (kept in session state)."""
    key = st.session_state.get(SESSION_KEY)
    if key is None:
        cookie = str(st.context.cookies.get(COOKIE, "") or "")
        key = cookie if _VALID.match(cookie) else secrets.token_hex(16)
        st.session_state[SESSION_KEY] = key
    return key


def remember_browser() -> None:
    """Once per session: give the browser its key as a cookie; drop a legacy ``?session=``."""
    if LEGACY_PARAM in st.query_params:
        del st.query_params[LEGACY_PARAM]
    key = session_key()
    if st.session_state.get(COOKIE_SENT_KEY) or st.context.cookies.get(COOKIE) == key:
        return
    st.session_state[COOKIE_SENT_KEY] = True
    st.html(f"<script>document.cookie = '{COOKIE}={key}; path=/; "
            f"max-age={COOKIE_DAYS * 86400}; SameSite=Strict';</script>",
            unsafe_allow_javascript=True, width="content")


def runs_root() -> Path:
    """Where this studio keeps its runs (``HQNN_RUNS_DIR`` or ./runs)."""
    return default_runs_root()


def session_job() -> TrainingJob | None:
    """This browser's training job (running or finished), also found after a reload."""
    return get_registry().get(session_key())


def start_job(cfg: RunConfig, *, twin: bool) -> TrainingJob:
    """Start training ``cfg`` for this browser; ``HqnnError`` if its job still runs."""
    return get_registry().start(session_key(), cfg, runs_root(), twin=twin)
