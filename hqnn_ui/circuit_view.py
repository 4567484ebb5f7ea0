"""Streamlit pieces of the Circuit page: the network around the circuit, and the drawing.

The model kind and front are widgets bound to the ``model`` section of the configuration.
The drawing shows the whole circuit or one step of it (the encoding, one ansatz layer),
wrapped after a chosen number of gate columns, so a 12-qubit circuit stays readable.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from hqnn_core.circuits.build import build_circuit, circuit_part
from hqnn_core.circuits.export import to_png
from hqnn_core.config import FRONTS, MODEL_KINDS, CircuitConfig, RunConfig
from hqnn_core.errors import HqnnError
from hqnn_ui import forms

SECTION = "model"
PART_KEY = "circuit_part"
FOLD_KEY = "circuit_fold"
WHOLE = "whole circuit"
MAX_DRAWN_GATES = 800  # beyond this the drawing takes long and shows nothing readable
KIND_LABELS = {"hybrid": "Hybrid: trainable front → circuit → trainable head",
               "quantum": "Quantum only: fixed preprocessing → circuit → fixed readout",
               "classical": "Classical: the circuit replaced by a classical layer"}
FRONT_LABELS = {"linear": "Linear layer (trainable)", "cnn": "Small CNN (trainable)",
                "pca": "PCA (fixed)", "none": "The encoding's own (fixed)"}
FIXED_FRONTS = ("pca", "none")


def model_choice(cfg: RunConfig) -> RunConfig:
    """Radio for the model kind and a select box for the front; the updated configuration."""
    forms.seed_widgets(SECTION, {"kind": cfg.model.kind, "front": cfg.model.front})
    left, right = st.columns(2)
    kind = left.radio("Model", MODEL_KINDS, format_func=KIND_LABELS.get,
                      **forms.shown_choice(SECTION, "kind", MODEL_KINDS))
    fronts = FIXED_FRONTS if kind == "quantum" else FRONTS
    front_key = forms.widget_key(SECTION, "front")
    if st.session_state.get(front_key) not in fronts:
        st.session_state[front_key] = "none"
    front = right.selectbox(
        "Front (image → the circuit's inputs)", fronts, format_func=FRONT_LABELS.get,
        **forms.shown_choice(SECTION, "front", fronts),
        help="Linear/CNN fronts are trained with the circuit. PCA keeps the main directions "
             "of the training images; 'the encoding's own' is a downsample for amplitude and "
             "basis encodings and PCA for the angle encodings. A quantum-only model always "
             "uses a fixed front.")
    model = dataclasses.replace(cfg.model, kind=kind, front=front)
    forms.remember_widgets(SECTION, {"kind": kind, "front": front})
    return dataclasses.replace(cfg, model=model)


@st.cache_data(max_entries=64, show_spinner="Drawing the circuit…")
def part_png(circuit_cfg: dict, part: str, fold: int) -> bytes:
    """One step of the circuit (or all of it) drawn by Qiskit, wrapped at ``fold`` columns."""
    built = build_circuit(CircuitConfig.from_dict(circuit_cfg))
    circuit = built.circuit if part == WHOLE else circuit_part(built, part)
    return to_png(circuit, fold=fold)


@st.cache_data(max_entries=64, show_spinner=False)
def step_labels(circuit_cfg: dict) -> list[str]:
    """The steps of the circuit: encoding, each ansatz layer, final rotations."""
    return [label for label, _ in build_circuit(CircuitConfig.from_dict(circuit_cfg)).steps]


def drawing_view(circuit: CircuitConfig, n_gates: int) -> None:
    """Which part to draw and where to wrap it, then the drawing (or why it is not drawn)."""
    parts = [WHOLE, *step_labels(circuit.to_dict())]
    if st.session_state.get(PART_KEY) not in parts:
        st.session_state[PART_KEY] = WHOLE
    left, right = st.columns([3, 1])
    part = left.select_slider("Show", parts, key=PART_KEY,
                              help="The whole circuit, or one step of it on its own.")
    fold = right.number_input("Wrap after gate columns", 10, 200, value=40, step=10,
                              key=FOLD_KEY, help="Long circuits continue on the next row.")
    if part == WHOLE and n_gates > MAX_DRAWN_GATES:
        st.info(f"This circuit has {n_gates} gates, too many to draw readably; pick one step "
                "above, or download it as OpenQASM 3 or QPY below.")
        return
    try:
        png = part_png(circuit.to_dict(), part, int(fold))
    except HqnnError as exc:
        st.warning(str(exc))
        return
    st.image(png, caption=f"{part.capitalize()} (Qiskit's matplotlib drawer; inputs x or α, "
                          "trainable weights θ)")
