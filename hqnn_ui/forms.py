"""Widgets bound to one section of the run configuration.

A page's widgets use keys ``w.<section>.<field>``. They are seeded from the current
configuration only when it changed somewhere else (the URL, another page, a loaded run),
so a widget never fights the user and never shows a stale value.

Every widget is also created with its current value as its own default (``shown`` /
``shown_choice``). The browser mounts a widget at that default and adopts a value written
through session state only a moment later; a click in that moment (seen on a loaded
server during a page's first script run) sent the default back as the person's choice,
and the Train page came back with Epochs 1, batch 8 and lr 0.0. With the current value
as the default there is nothing else for the browser to show or send.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import streamlit as st

UPLOAD_DIR_KEY = "hqnn_upload_dir"


def widget_key(section: str, name: str) -> str:
    """The session-state key of the widget editing ``section.name``."""
    return f"w.{section}.{name}"


def seed_widgets(section: str, values: Mapping[str, Any]) -> None:
    """Put ``values`` into the section's widget keys if the configuration changed elsewhere.

    Call before drawing the widgets, which take their ``value=``/``index=`` from
    ``shown``/``shown_choice``.
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


def shown(section: str, name: str, arg: str = "value") -> dict[str, Any]:
    """``key=`` and ``value=`` (or ``default=``) for the widget editing ``section.name``:
    its current value, so the browser mounts it showing that value (call after
    ``seed_widgets``)."""
    return {"key": widget_key(section, name), arg: value(section, name)}


def shown_choice(section: str, name: str, options: Sequence[Any]) -> dict[str, Any]:
    """``key=`` and ``index=`` for a select box or radio over ``options`` showing its
    current value (which must be one of them)."""
    return {"key": widget_key(section, name), "index": list(options).index(value(section, name))}


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
