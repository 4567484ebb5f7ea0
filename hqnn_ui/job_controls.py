"""The Stop / Resume / status row shared by the screens that follow a background job."""

from __future__ import annotations

from typing import Any

import streamlit as st

from hqnn_core.errors import HqnnError


def stop_resume_row(job: Any, snap: Any, *, key: str, can_stop: bool, can_resume: bool) -> Any:
    """Stop and Resume buttons and the job's status; returns the snapshot after a Stop.

    ``job`` has ``stop()``, ``resume()`` and ``snapshot()``; ``snap`` has ``status``,
    ``message`` and ``error``. A Resume that is refused shows its one sentence.
    """
    left, middle, right = st.columns([1, 1, 4], vertical_alignment="center")
    if left.button("Stop", icon=":material/stop:", disabled=not can_stop, key=f"{key}_stop"):
        job.stop()
        snap = job.snapshot()
    if middle.button("Resume", icon=":material/replay:", disabled=not can_resume,
                     key=f"{key}_resume"):
        try:
            job.resume()
        except HqnnError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    right.markdown(f"**Status:** {snap.status} · {snap.message}")
    if snap.error:
        st.error(snap.error)
    return snap
