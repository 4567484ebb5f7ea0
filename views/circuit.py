"""Circuit: design the quantum circuit and the network around it, see it drawn by Qiskit
(whole or step by step), count what is in it, check before training whether it can learn,
see it transpiled for a fake IBM device, and export it as OpenQASM 3 or QPY."""

import dataclasses

import streamlit as st

from hqnn_core.circuits.build import build_circuit
from hqnn_core.circuits.export import (build_refusal, circuit_stats, export_circuit,
                                       heavy_work_refusal, to_png)
from hqnn_core.config import (ANSATZE, ENCODINGS, ENTANGLEMENTS, INITS, MAX_QUBITS,
                              MEASUREMENTS, ROTATIONS, CircuitConfig)
from hqnn_core.errors import HqnnError
from hqnn_core.learning.layer import SCALED_ENCODINGS
from hqnn_ui import forms, state
from hqnn_ui.circuit_view import MAX_DRAWN_GATES, drawing_view, model_choice
from hqnn_ui.diagnostics_view import diagnostics_view

SECTION = "circuit"
DEVICE_KEY = "circuit_device"
MAX_ROUTED_GATES = 1000  # two-qubit gates routed onto a device while you wait (~1 s)
INIT_LABELS = {"uniform": "uniform in (−π, π)", "small": "small, in (−0.1π, 0.1π)",
               "identity_blocks": "identity_blocks (no entanglement)"}


@st.cache_data(max_entries=64, show_spinner="Counting the circuit…")
def circuit_counts(circuit_cfg: dict) -> dict:
    """Depth and gate counts of the circuit a config describes (cached per config)."""
    return circuit_stats(build_circuit(CircuitConfig.from_dict(circuit_cfg)).circuit)


@st.cache_data(max_entries=32, show_spinner="Transpiling for the device…")
def transpiled(circuit_cfg: dict, device: str, level: int) -> dict:
    """The circuit transpiled for a fake device: drawing and figures (cached)."""
    from hqnn_core.backends.devices import transpile_for_device

    qc = build_circuit(CircuitConfig.from_dict(circuit_cfg)).circuit
    result = transpile_for_device(qc, device, seed=0, optimization_level=level)
    small = len(result.circuit.data) <= MAX_DRAWN_GATES
    return {"png": to_png(result.circuit, idle_wires=False) if small else None,
            "depth": result.depth, "two_qubit": result.two_qubit_count,
            "ops": result.op_counts, "layout": result.layout}


def show_stats(stats: dict) -> None:
    """Depth, parameter, gate and two-qubit gate counts, and gates by name."""
    c = st.columns(5)
    c[0].metric("Qubits", stats["qubits"])
    c[1].metric("Depth", stats["depth"])
    c[2].metric("Parameters", stats["parameters"])
    c[3].metric("Gates", stats["gates"])
    c[4].metric("Two-qubit gates", stats["two_qubit_gates"])
    st.caption("Gates by name: " + ", ".join(f"{name} × {n}"
                                            for name, n in stats["gate_counts"].items()))


def downloads(circuit: CircuitConfig) -> None:
    """OpenQASM 3 and QPY downloads, built only when clicked, in Streamlit's worker thread."""
    columns = st.columns(2)
    columns[0].download_button("Download OpenQASM 3", lambda: export_circuit(circuit, "qasm3"),
                               "circuit.qasm", mime="text/plain", icon=":material/download:",
                               on_click="ignore")
    columns[1].download_button("Download QPY", lambda: export_circuit(circuit, "qpy"),
                               "circuit.qpy", mime="application/octet-stream",
                               icon=":material/download:", on_click="ignore")


def show_device(circuit_cfg: dict, n_qubits: int, two_qubit_gates: int) -> None:
    """The transpiled circuit and its two-qubit gate count on a chosen fake IBM device."""
    from hqnn_core.backends.devices import fake_device_qubits, list_fake_devices

    if two_qubit_gates > MAX_ROUTED_GATES:
        st.info(f"This circuit has {two_qubit_gates:,} two-qubit gates, more than the "
                f"{MAX_ROUTED_GATES:,} the studio routes onto a device while you wait; use "
                "fewer layers or a sparser entanglement to see it transpiled.")
        return
    devices = [d for d in list_fake_devices() if fake_device_qubits(d) >= n_qubits]
    if not devices:
        st.info(f"No fake IBM device has {n_qubits} qubits.")
        return
    if st.session_state.get(DEVICE_KEY) not in devices:
        st.session_state[DEVICE_KEY] = devices[0]
    left, right = st.columns([2, 1])
    device = left.selectbox("Fake IBM device", devices, key=DEVICE_KEY,
                            format_func=lambda d: f"{d} ({fake_device_qubits(d)} qubits)")
    level = right.select_slider("Optimization level", [0, 1, 2, 3], value=1,
                                key="circuit_opt_level")
    try:
        result = transpiled(circuit_cfg, device, level)
    except HqnnError as exc:
        st.warning(str(exc))
        return
    c = st.columns(3)
    c[0].metric("Transpiled depth", result["depth"])
    c[1].metric("Two-qubit gates on device", result["two_qubit"])
    c[2].metric("Physical qubits", ", ".join(str(q) for q in result["layout"]))
    if result["png"] is None:
        st.caption(f"The transpiled circuit has more than {MAX_DRAWN_GATES} operations; "
                   "it is not drawn.")
    else:
        st.image(result["png"], caption=f"Transpiled for {device} (idle qubits hidden)")


cfg = state.current_config()
forms.seed_widgets(SECTION, cfg.circuit.to_dict())
st.title("Circuit")
st.caption("Encoding loads the image features into qubits; the ansatz is what training tunes; "
           "the measurement is what the classical head reads.")

controls = st.columns(4)
controls[0].slider("Qubits", 1, MAX_QUBITS, **forms.shown(SECTION, "n_qubits"))
controls[0].number_input("Layers", 1, 50, **forms.shown(SECTION, "layers"))
controls[1].selectbox("Encoding", ENCODINGS, **forms.shown_choice(SECTION, "encoding", ENCODINGS))
controls[1].selectbox("Rotation axis (angle encoding)", ROTATIONS,
                      **forms.shown_choice(SECTION, "rotation", ROTATIONS))
controls[1].toggle("Trainable input scaling", **forms.shown(SECTION, "input_scale"),
                   disabled=forms.value(SECTION, "encoding") not in SCALED_ENCODINGS,
                   help="A trainable factor per feature multiplies each angle before it is "
                        "encoded (angle, dense_angle and iqp encodings): it sets the frequencies "
                        "the encoding can express (Schuld, Sweke & Meyer 2021). On by default; "
                        "it costs one parameter per feature and measured within noise on digits.")
controls[2].selectbox("Ansatz", ANSATZE, **forms.shown_choice(SECTION, "ansatz", ANSATZE))
controls[2].selectbox("Entanglement", ENTANGLEMENTS,
                      **forms.shown_choice(SECTION, "entanglement", ENTANGLEMENTS))
controls[2].selectbox(
    "Weight initialisation", INITS, format_func=INIT_LABELS.get,
    **forms.shown_choice(SECTION, "init", INITS),
    help="How the ansatz's angles start. uniform (the default); small angles trained about "
         "5 points worse (near 0 they barely move a Z readout). identity_blocks (Grant et al. "
         "2019) pairs each layer with its mirror image so the circuit starts as its encoding "
         "alone, but the mirrored CNOTs cancel the entangling gates for any angles: the circuit "
         "never entangles. It needs an even number of layers and no re-uploading.")
controls[3].selectbox("Measurement", MEASUREMENTS,
                      **forms.shown_choice(SECTION, "measurement", MEASUREMENTS),
                      help="z: ⟨Z⟩ per qubit; zz: also ⟨ZZ⟩ per entangled pair; "
                           "probs: all 2ⁿ basis-state probabilities.")
controls[3].toggle("Re-upload the data before each layer",
                   **forms.shown(SECTION, "reupload"))

try:
    circuit = CircuitConfig.from_dict({name: forms.value(SECTION, name)
                                       for name in cfg.circuit.to_dict()})
except HqnnError as exc:
    st.error(str(exc))
else:
    forms.remember_widgets(SECTION, circuit.to_dict())
    st.subheader("The network around the circuit")
    state.set_config(model_choice(dataclasses.replace(cfg, circuit=circuit)))
    st.subheader("The circuit")
    too_big = build_refusal(circuit)
    if too_big:
        st.info(too_big)
    else:
        stats = circuit_counts(circuit.to_dict())
        show_stats(stats)
        drawing_view(circuit, stats["gates"])
        refusal = heavy_work_refusal(circuit)
        if refusal:
            st.info(refusal)
        else:
            downloads(circuit)
        diagnostics_view(circuit)
        if not refusal:
            st.subheader("On a fake IBM device")
            show_device(circuit.to_dict(), circuit.n_qubits, stats["two_qubit_gates"])
