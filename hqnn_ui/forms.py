"""Widgets bound to one section of the run configuration.

A page's widgets use keys ``w.<section>.<field>``. They are seeded from the current
configuration only when it changed somewhere else (the URL, another page, a loaded run),
so a widget never fights the user and never shows a stale value.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Mapping

import streamlit as st

UPLOAD_DIR_KEY = "hqnn_upload_dir"


def widget_key(section: str, name: str) -> str:
    """The session-state key of the widget editing ``section.name``."""
    return f"w.{section}.{name}"


def seed_widgets(section: str, values: Mapping[str, Any]) -> None:
    """Put ``values`` into the section's widget keys if the configuration changed elsewhere.

    Call before drawing the widgets (and without ``value=``/``index=`` arguments).
    """
    marker = f"_seeded.{section}"
    values = dict(values)
    missing = any(widget_key(section, name) not in st.session_state for name in values)
    if missing or st.session_state.get(marker) != values:
        for name, value in values.items():
            st.session_state[widget_key(section, name)] = value
        st.session_state[marker] = values


def remember_widgets(section: str, values: Mapping[str, Any]) -> None:
    """Record that the configuration now holds what the widgets produced."""
    st.session_state[f"_seeded.{section}"] = dict(values)


def value(section: str, name: str) -> Any:
    """The current value of the widget editing ``section.name``."""
    return st.session_state[widget_key(section, name)]


def session_upload_dir() -> Path:
    """A temporary folder private to this browser session (created on first use)."""
    if UPLOAD_DIR_KEY not in st.session_state:
        st.session_state[UPLOAD_DIR_KEY] = tempfile.mkdtemp(prefix="hqnn-upload-")
    path = Path(st.session_state[UPLOAD_DIR_KEY])
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(name: str, data: bytes) -> Path:
    """Write an uploaded file into the session's folder under a safe name; returns its path."""
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)
    target = session_upload_dir() / (safe or "upload.zip")
    target.write_bytes(data)
    return target
