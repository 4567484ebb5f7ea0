"""Streamlit piece of the Circuit page: can this circuit learn? (before any training)

On a button press the engine computes, with sizes capped so it takes seconds: the
gradient variance over random initialisations as qubits and layers grow (barren
plateaus), and expressibility and entangling capability against depth. Results are
cached per circuit family and shown until the circuit changes.
"""

from __future__ import annotations

import dataclasses
import time

import streamlit as st

from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics import expressibility as expr
from hqnn_core.diagnostics.gradients import gradient_variance_grid
from hqnn_core.errors import HqnnError
from hqnn_core.viz.diagnostics import (expressibility_figure, fidelity_histogram_figure,
                                       gradient_variance_figure)

RESULT_KEY = "circuit_diagnostics"
QUBITS = tuple(range(2, 11))
DEPTHS = (1, 2, 4, 8)
GRADIENT_SAMPLES = 100
PAIRS = 2000
MAX_DEPTH = 8


def _family(circuit: CircuitConfig) -> dict:
    """The circuit without its size: what the qubit/layer sweeps keep fixed."""
    return dataclasses.replace(circuit, n_qubits=4, layers=1).to_dict()


@st.cache_data(max_entries=16, show_spinner=False)
def _gradients(family: dict) -> list[list[float]]:
    grid = gradient_variance_grid(CircuitConfig.from_dict(family), QUBITS, DEPTHS,
                                  n_samples=GRADIENT_SAMPLES)
    return grid.tolist()


@st.cache_data(max_entries=16, show_spinner=False)
def _expressibility(circuit_cfg: dict) -> dict:
    circuit = CircuitConfig.from_dict(circuit_cfg)
    depths = list(range(1, max(4, min(circuit.layers, MAX_DEPTH)) + 1))
    results = expr.expressibility_by_layers(circuit, depths, n_pairs=PAIRS)
    chosen = results[min(circuit.layers, len(results)) - 1]
    return {"layers": depths, "kl": [r.kl for r in results],
            "entangling": [r.entangling for r in results], "fidelities": chosen.fidelities}


def _sized(circuit: CircuitConfig) -> CircuitConfig:
    """The circuit capped to what the diagnostics compute (10 qubits, 8 layers)."""
    return dataclasses.replace(circuit, n_qubits=min(circuit.n_qubits, expr.MAX_QUBITS),
                               layers=min(circuit.layers, MAX_DEPTH))


def diagnostics_view(circuit: CircuitConfig) -> None:
    """The button, then the barren-plateau and expressibility plots for this circuit."""
    st.subheader("Before training: can this circuit learn?")
    st.caption("Computed by the engine from random parameters, no data needed. Gradients "
               "that vanish as qubits grow (a barren plateau) make training stall; "
               "expressibility says how evenly the circuit covers the space of states "
               "(Sim, Johnson & Aspuru-Guzik 2019).")
    sized = _sized(circuit)
    key = sized.to_dict()
    if st.button("Compute the diagnostics", icon=":material/monitoring:",
                 key="circuit_diagnostics_button"):
        started = time.perf_counter()
        try:
            with st.spinner("Sampling random circuits…"):
                results = {"gradients": _gradients(_family(sized)),
                           "expressibility": _expressibility(key)}
        except HqnnError as exc:
            st.warning(str(exc))
            return
        results["seconds"] = time.perf_counter() - started
        st.session_state[RESULT_KEY] = (key, results)
    stored = st.session_state.get(RESULT_KEY)
    if stored is None or stored[0] != key:
        st.caption("Press the button: it takes a few seconds and runs again for each new "
                   "circuit.")
        return
    _show(sized, circuit, stored[1])


def _show(sized: CircuitConfig, circuit: CircuitConfig, results: dict) -> None:
    if sized != circuit:
        st.caption(f"Computed at {sized.n_qubits} qubits and {sized.layers} layers (the "
                   "largest the diagnostics sample in seconds).")
    e = results["expressibility"]
    index = e["layers"].index(sized.layers)
    c = st.columns(3)
    c[0].metric("Expressibility (KL from Haar)", f"{e['kl'][index]:.3f}",
                help="Lower = closer to Haar-random states; 0 is perfectly expressive.")
    c[1].metric("Entangling capability Q", f"{e['entangling'][index]:.2f}",
                help="Mean Meyer-Wallach measure: 0 = product states, 1 = maximal.")
    c[2].metric("Computed in", f"{results['seconds']:.1f} s")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Gradient variance** — Var[∂⟨Z₀⟩/∂θ] over {GRADIENT_SAMPLES} random "
                    "initialisations, mean over the angles θ")
        st.plotly_chart(gradient_variance_figure(QUBITS, DEPTHS, results["gradients"]),
                        key="diag_gradients")
    with right:
        st.markdown(f"**Fidelities of {PAIRS} random pairs** at {sized.layers} "
                    f"layer{'s' if sized.layers != 1 else ''}, against Haar's")
        st.plotly_chart(fidelity_histogram_figure(e["fidelities"], sized.n_qubits),
                        key="diag_fidelity")
    st.plotly_chart(expressibility_figure(e["layers"], e["kl"], e["entangling"]),
                    key="diag_expressibility")
