"""The sidebar every page shares: the current configuration, the training job, sharing."""

from __future__ import annotations

import logging
from functools import lru_cache

import streamlit as st

from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError
from hqnn_ui import state
from hqnn_ui.polling import job_fragment
from hqnn_ui.session import remember_browser, session_job

log = logging.getLogger(__name__)

JOB_POLL_SECONDS = 2.0


@lru_cache(maxsize=16)
def _dataset_names(name: str) -> tuple[str, tuple[str, ...]]:
    """A dataset's title and class names (the registry's static description)."""
    from hqnn_core.data.registry import dataset_info

    try:
        info = dataset_info(name)
    except HqnnError:
        return name, ()
    return str(info["title"]), tuple(str(c) for c in info["class_names"])


def dataset_title(name: str) -> str:
    """The human title of a registered dataset, e.g. ``"Digits (scikit-learn, 8x8)"``."""
    return _dataset_names(name)[0]


def classes_label(cfg: RunConfig) -> str:
    """The chosen classes as names, or "all" when every class is used."""
    if cfg.data.classes is None:
        return "all"
    names = _dataset_names(cfg.data.name)[1]
    return ", ".join(names[c] if c < len(names) else str(c) for c in cfg.data.classes)


def circuit_label(cfg: RunConfig) -> str:
    """One line describing the circuit, e.g. ``"4 qubits · angle · real_amplitudes ×2 · …"``."""
    c = cfg.circuit
    text = (f"{c.n_qubits} qubits · {c.encoding} · {c.ansatz} ×{c.layers} · "
            f"{c.entanglement} · {c.measurement}")
    return text + (" · re-uploading" if c.reupload else "")


def _config_summary(cfg: RunConfig) -> None:
    st.markdown("**Configuration**")
    st.caption(
        f"**Dataset** {dataset_title(cfg.data.name)}  \n"
        f"**Classes** {classes_label(cfg)}  \n"
        f"**Circuit** {circuit_label(cfg)}  \n"
        f"**Model** {cfg.model.kind} ({cfg.model.front} front) · "
        f"{cfg.train.epochs} epochs on {cfg.train.backend}"
    )


def _job_active() -> bool:
    job = session_job()
    return job is not None and job.active


def _job_status() -> None:
    """The browser's training job: status, progress and ETA (polled while it runs)."""
    job = session_job()
    if job is None:
        st.caption("No training job in this session.")
        return
    snap = job.snapshot()
    st.markdown(f"**Training** · {snap.status}")
    epochs = getattr(snap.quantum, "epochs", 0)
    label = f"epoch {snap.epoch}/{epochs}" if epochs else snap.message
    if snap.eta_seconds is not None:
        label += f" · about {snap.eta_seconds:.0f} s left"
    st.progress(snap.fraction, text=label)
    if snap.error:
        st.caption(snap.error)


def _fill(slot, cfg: RunConfig) -> None:
    with slot.container():
        _config_summary(cfg)
        with st.popover("Copy link to this configuration", icon=":material/link:",
                        width="stretch"):
            st.caption("Anyone opening this link starts with the same configuration.")
            st.code(state.share_link(cfg), language=None, wrap_lines=True)


def render():
    """Draw the shared sidebar before the page runs; returns the slot ``refresh`` redraws."""
    with st.sidebar:
        slot = st.empty()
        _fill(slot, state.current_config())
        st.divider()
        job_fragment(_job_status, active=_job_active, every=JOB_POLL_SECONDS)
        st.divider()
        st.toggle("Presentation mode", key=state.PRESENTATION_KEY, persist_state="session",
                  help="Larger type, the workflow as guided steps, the sidebar tucked away.")
        remember_browser()
    return slot


def refresh(slot) -> None:
    """After the page ran: show the configuration it left and mirror it into the URL."""
    cfg = state.current_config()
    _fill(slot, cfg)
    state.sync_query_params(cfg)
