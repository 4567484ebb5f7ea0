"""QuantumLayer's public contract and its errors."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from qiskit.circuit.library import real_amplitudes
from qiskit.quantum_info import Operator

from hqnn_core import CircuitConfig, QuantumLayer
from hqnn_core.circuits import build_circuit
from hqnn_core.config import RunConfig
from hqnn_core.errors import ConfigError, HqnnError, ResourceError, ShapeError


def test_contract_surface() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=4, encoding="angle",
                                       ansatz="hardware_efficient", layers=2))
    x = torch.rand(5, layer.n_features)
    y = layer(x)
    assert y.shape == (5, layer.n_outputs) == (5, 4)
    assert layer.circuit.num_parameters == 4 + layer.n_weights == 4 + 16
    bound = layer.bound_circuit(x[0])
    assert bound.num_parameters == 0 and bound.num_clbits == 0
    assert [str(o.paulis[0]) for o in layer.observables] == ["IIIZ", "IIZI", "IZII", "ZIII"]


def test_zz_outputs_are_z_then_pairs() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, measurement="zz", entanglement="linear"))
    labels = [str(o.paulis[0]) for o in layer.observables]
    assert labels == ["IIZ", "IZI", "ZII", "IZZ", "ZZI"]
    assert layer.n_outputs == 5


def test_feature_counts_per_encoding() -> None:
    sizes = {"angle": 5, "dense_angle": 10, "amplitude": 32, "basis": 5, "iqp": 5}
    for encoding, size in sizes.items():
        assert QuantumLayer(CircuitConfig(n_qubits=5, encoding=encoding)).n_features == size


def test_real_amplitudes_equals_qiskit_library() -> None:
    """Our gate-by-gate RealAmplitudes is Qiskit's (same parameter order)."""
    cfg = CircuitConfig(n_qubits=3, encoding="angle", ansatz="real_amplitudes", layers=2,
                        entanglement="linear")
    built = build_circuit(cfg)
    ours = built.circuit.assign_parameters(dict(zip(built.inputs, [0.0] * 3)))
    values = np.random.default_rng(0).uniform(-3, 3, len(built.weights))
    ours = ours.assign_parameters(dict(zip(built.weights, values)))
    reference = real_amplitudes(3, reps=2, entanglement="linear")
    reference = reference.assign_parameters(dict(zip(reference.parameters, values)))
    assert Operator(ours).equiv(Operator(reference))


def test_wrong_shape_is_a_clear_error() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=4))
    with pytest.raises(ShapeError, match=r"\(\.\.\., 4\).*got \(3, 5\)"):
        layer(torch.rand(3, 5))


def test_memory_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HQNN_MAX_STATE_BYTES", str(2**20))
    layer = QuantumLayer(CircuitConfig(n_qubits=10))
    with pytest.raises(ResourceError, match="smaller batch or fewer qubits"):
        layer(torch.rand(512, 10))


@pytest.mark.parametrize("kwargs,message", [
    ({"n_qubits": 0}, "n_qubits must be between 1 and"),
    ({"encoding": "fourier"}, "choose one of: angle, dense_angle, amplitude, basis, iqp"),
    ({"ansatz": "qaoa"}, "choose one of: hardware_efficient"),
    ({"entanglement": "star"}, "linear, circular, full"),
    ({"measurement": "x"}, "z, zz, probs"),
    ({"layers": 0}, "layers must be between 1"),
    ({"encoding": "amplitude", "reupload": True}, "cannot be re-uploaded"),
    ({"n_qubits": 14, "measurement": "probs"}, "too many"),
])
def test_invalid_configurations_say_what_to_change(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CircuitConfig(**kwargs)


def test_backend_arguments_are_validated() -> None:
    with pytest.raises(ConfigError, match="choose one of: exact, aer, ibm"):
        QuantumLayer(CircuitConfig(), backend="gpu")
    with pytest.raises(ConfigError, match="backend='aer'"):
        QuantumLayer(CircuitConfig(), shots=100)


def test_config_errors_are_project_errors() -> None:
    with pytest.raises(HqnnError, match="Unknown key"):
        RunConfig.from_dict({"circuit": {"qubits": 4}})


def test_same_seed_same_weights_and_state_dict_round_trip() -> None:
    cfg = CircuitConfig(n_qubits=3, ansatz="efficient_su2")
    a, b = QuantumLayer(cfg, seed=4), QuantumLayer(cfg, seed=4)
    torch.testing.assert_close(a.weights, b.weights)
    c = QuantumLayer(cfg, seed=5)
    c.load_state_dict(a.state_dict())
    x = torch.rand(3, 3)
    torch.testing.assert_close(c(x), a(x))


def test_gate_angle_circuit_reproduces_the_layer() -> None:
    """Binding gate_angles into gate_angle_circuit gives the same state as bound_circuit."""
    from qiskit.quantum_info import Statevector

    for encoding in ("amplitude", "iqp", "dense_angle"):
        layer = QuantumLayer(CircuitConfig(n_qubits=3, encoding=encoding, measurement="zz"),
                             seed=2, dtype=torch.float64)
        x = torch.rand(2, layer.n_features, dtype=torch.float64)
        angles = layer.gate_angles(x)
        qc = layer.gate_angle_circuit
        assert angles.shape == (2, qc.num_parameters)
        assert {i.operation.name for i in qc.data} <= {"rx", "ry", "rz", "rzz", "cx", "h", "p",
                                                       "barrier"}
        bound = qc.assign_parameters(angles[0].detach().numpy())
        np.testing.assert_allclose(Statevector(bound).data,
                                   Statevector(layer.bound_circuit(x[0])).data, atol=1e-10)


def test_core_never_imports_streamlit() -> None:
    code = ("import sys, pkgutil, importlib, hqnn_core\n"
            "for m in pkgutil.walk_packages(hqnn_core.__path__, 'hqnn_core.'):\n"
            "    m.name.endswith('__main__') or importlib.import_module(m.name)\n"
            "assert 'streamlit' not in sys.modules, 'hqnn_core imported streamlit'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("cfg", [CircuitConfig(n_qubits=4),
                                 CircuitConfig(n_qubits=3, encoding="iqp", measurement="zz"),
                                 CircuitConfig(n_qubits=3, encoding="amplitude"),
                                 CircuitConfig(n_qubits=3, reupload=True)])
def test_copied_and_pickled_layers_compute_the_same(cfg: CircuitConfig) -> None:
    """deepcopy (best-model snapshots, weight averaging) and pickling keep the layer working."""
    layer = QuantumLayer(cfg, seed=0)
    x = torch.rand(5, layer.n_features, generator=torch.Generator().manual_seed(0))
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        for fused in (True, False):
            twin.use_fused = layer.use_fused = fused
            torch.testing.assert_close(twin(x), layer(x), atol=1e-6, rtol=0)
            twin(x).sum().backward()
