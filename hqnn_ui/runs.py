"""The run store as the pages see it: listing without tracebacks, shipped demo models."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from hqnn_core.errors import HqnnError
from hqnn_ui.navigation import ROOT

log = logging.getLogger(__name__)

DEMO_MODELS = ROOT / "assets" / "models"
DEMO_MODEL = "digits-hybrid"


def run_store():
    """The session's run store (``HQNN_RUNS_DIR`` or ./runs)."""
    from hqnn_core.learning.runs import RunStore

    return RunStore()


def list_runs() -> list:
    """Every run in the store, newest first; a broken store shows one sentence and no runs."""
    try:
        return run_store().list()
    except HqnnError as exc:
        st.error(str(exc))
        return []


def demo_model_dir(name: str = DEMO_MODEL) -> Path | None:
    """The folder of a shipped demo model, or None when this build has none."""
    path = DEMO_MODELS / name
    return path if (path / "config.json").is_file() else None


def accuracy_text(value: float | None) -> str:
    """A test accuracy as a percentage, or a dash while there is none."""
    return "–" if value is None else f"{100 * value:.1f} %"
