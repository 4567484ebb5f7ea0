"""Streamlit piece of the Classify page: the circuit stepped through for this input.

A slider picks the encoding or one ansatz layer; the state after it is shown as Bloch
vectors (titled with each qubit's purity), basis-state probabilities and purity bars.
States come from ``hqnn_core.diagnostics.states`` (the engine run on circuit prefixes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from hqnn_core.diagnostics.states import StepState, model_steps
from hqnn_core.errors import HqnnError
from hqnn_core.viz.diagnostics import purity_figure
from hqnn_core.viz.figures import basis_probability_figure, bloch_figure

STEP_KEY = "classify_step"


@st.cache_data(max_entries=32, show_spinner="Stepping through the circuit…")
def _steps(path: str, stamp: float, model_input: np.ndarray) -> list[StepState]:
    from hqnn_ui.classify_view import load_model

    return model_steps(load_model(path).model, torch.from_numpy(model_input))


def _stamp(path: str) -> float:
    weights = Path(path) / "model.safetensors"
    return weights.stat().st_mtime if weights.exists() else 0.0


def step_through_view(path: str, model_input: torch.Tensor) -> None:
    """The slider over the circuit's steps and the state after the chosen one."""
    st.subheader("The quantum state for this input, step by step")
    try:
        steps = _steps(path, _stamp(path), model_input.detach().cpu().numpy())
    except HqnnError as exc:
        st.info(str(exc))
        return
    labels = [s.label for s in steps]
    if st.session_state.get(STEP_KEY) not in labels:
        st.session_state[STEP_KEY] = labels[-1]
    label = st.select_slider("Step through the circuit", labels, key=STEP_KEY,
                             help="The state after the encoding, then after each ansatz "
                                  "layer; the last step is what the readout measures.")
    step = steps[labels.index(label)]
    st.caption(f"State after **{label}** (qubit 0 is the rightmost bit). A Bloch arrow "
               "shorter than 1 and a purity below 1 mean the qubit is entangled with the "
               f"others; Meyer-Wallach entanglement Q = {step.entanglement:.2f} (0 = product state, "
               "1 = maximally entangled).")
    left, right = st.columns([3, 2])
    titles = [f"qubit {k} · purity {p:.2f}" for k, p in enumerate(step.purity)]
    with left:
        st.plotly_chart(bloch_figure(step.bloch, titles=titles), key="bloch")
    with right:
        st.plotly_chart(basis_probability_figure(step.probabilities), key="basis")
        st.plotly_chart(purity_figure(step.purity), key="purity")
