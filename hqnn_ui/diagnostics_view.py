"""Streamlit piece of the Circuit page: can this circuit learn? (before any training)

A button starts (or finds) the shared background job of ``hqnn_core.studio.diagnostics``;
a fragment polls it with a progress bar and never computes on the script thread; then
the gradient variance as qubits and layers grow (barren plateaus), the fidelity
histogram against Haar's, and expressibility / entangling capability against depth.
"""

from __future__ import annotations

import streamlit as st

from hqnn_core.config import CircuitConfig
from hqnn_core.studio import diagnostics as jobs
from hqnn_core.viz.diagnostics import (expressibility_figure, fidelity_histogram_figure,
                                       gradient_variance_figure)
from hqnn_ui.polling import job_fragment

POLL_SECONDS = 0.5


def diagnostics_view(circuit: CircuitConfig) -> None:
    """The button, then progress or the barren-plateau and expressibility plots."""
    st.subheader("Before training: can this circuit learn?")
    st.caption("Computed by the engine from random parameters, no data needed. Gradients "
               "that vanish as qubits grow (a barren plateau) make training stall; "
               "expressibility says how evenly the circuit covers the space of states "
               "(Sim, Johnson & Aspuru-Guzik 2019).")
    pressed = st.button("Compute the diagnostics", icon=":material/monitoring:",
                        key="circuit_diagnostics_button")
    job = jobs.diagnostics_job(circuit, start=pressed)
    if job is None:
        st.caption("Press the button: it samples a few thousand random circuits in the "
                   "background and is kept for this circuit family.")
        return
    job_fragment(_panel, job, circuit, active=lambda: not job.snapshot().finished,
                 every=POLL_SECONDS)


def _panel(job: jobs.DiagnosticsJob, circuit: CircuitConfig) -> None:
    snap = job.snapshot()
    if snap.error:
        st.warning(snap.error)
        return
    if not snap.finished:
        st.progress(snap.done / snap.total,
                    text=f"Sampling random circuits… {snap.done} of {snap.total} settings")
        return
    _show(job, circuit, snap)


def _show(job: jobs.DiagnosticsJob, circuit: CircuitConfig,
          snap: jobs.DiagnosticsSnapshot) -> None:
    sized = job.circuit
    if (sized.n_qubits, sized.layers) != (circuit.n_qubits, circuit.layers):
        st.caption(f"Expressibility and entangling capability are computed at "
                   f"{sized.n_qubits} qubits and {sized.layers} layers: beyond "
                   f"{jobs.EXPRESSIBILITY_QUBITS} qubits Haar-random fidelities all fall in "
                   "the first bin, and the samples would take long.")
    e = snap.expressibility
    index = e["layers"].index(sized.layers)
    c = st.columns(3)
    c[0].metric("Expressibility (KL from Haar)", f"{e['kl'][index]:.3f}",
                help="Lower = closer to Haar-random states; 0 is perfectly expressive.")
    c[1].metric("Entangling capability Q", f"{e['entangling'][index]:.2f}",
                help="Mean Meyer-Wallach measure: 0 = product states, 1 = maximal.")
    c[2].metric("Computed in", f"{snap.seconds:.1f} s",
                help="In the background, once per circuit family for every session.")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Gradient variance** — Var[∂⟨Z₀⟩/∂θ] over {jobs.GRADIENT_SAMPLES} "
                    "random initialisations, mean over the angles θ")
        st.plotly_chart(gradient_variance_figure(job.qubits, jobs.DEPTHS, snap.gradients),
                        key="diag_gradients")
    with right:
        st.markdown(f"**Fidelities of {jobs.PAIRS} random pairs** at {sized.n_qubits} qubits "
                    f"and {sized.layers} layer{'s' if sized.layers != 1 else ''}, against "
                    "Haar's")
        st.plotly_chart(fidelity_histogram_figure(e["fidelities"], sized.n_qubits),
                        key="diag_fidelity")
    st.plotly_chart(expressibility_figure(e["layers"], e["kl"], e["entangling"]),
                    key="diag_expressibility")
