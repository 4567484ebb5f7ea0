"""circuit.init = "identity_blocks" (Grant et al. 2019): the ansatz starts as the identity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator, Statevector

from hqnn_core.circuits.build import build_circuit, circuit_part
from hqnn_core.config import CircuitConfig, RunConfig
from hqnn_core.diagnostics.expressibility import expressibility
from hqnn_core.errors import ConfigError
from hqnn_core.learning.layer import QuantumLayer
from hqnn_core.learning.training import fit

CASES = [  # (ansatz, entanglement, layers): every ansatz, final rotation layers, CNOT ranges
    ("hardware_efficient", "circular", 2),
    ("hardware_efficient", "full", 4),
    ("real_amplitudes", "linear", 2),
    ("efficient_su2", "circular", 4),
    ("strongly_entangling", "circular", 4),
]


def ansatz_operator(layer: QuantumLayer, cfg: CircuitConfig) -> Operator:
    """The bound circuit without its encoding (every step after "encoding")."""
    built = build_circuit(cfg)
    ansatz = built.circuit.copy_empty_like()
    for label, _ in built.steps[1:]:
        ansatz.compose(circuit_part(built, label), inplace=True)
    values = dict(zip(built.weights, layer.weights.detach().double().tolist()))
    return Operator(ansatz.assign_parameters(values))


@pytest.mark.parametrize("ansatz,entanglement,layers", CASES)
def test_initial_circuit_is_the_identity(ansatz, entanglement, layers):
    cfg = CircuitConfig(n_qubits=4, ansatz=ansatz, entanglement=entanglement, layers=layers,
                        init="identity_blocks")
    layer = QuantumLayer(cfg, seed=7, dtype=torch.float64)
    w = layer.weights.detach()
    assert float(w.abs().max()) > 1.0  # the free layers are not near zero
    op = ansatz_operator(layer, cfg)
    np.testing.assert_allclose(op.data, np.eye(16), atol=1e-10)
    # the whole circuit is then the encoding alone, in Qiskit and in the torch engine
    x = torch.rand(1, 4, dtype=torch.float64) * math.pi
    full = Operator(layer.bound_circuit(x[0]))
    built = build_circuit(cfg)
    encoding = circuit_part(built, "encoding").assign_parameters(
        dict(zip(built.inputs, layer.input_values(x)[0].tolist())))
    assert full.equiv(Operator(encoding))
    np.testing.assert_allclose(layer.statevector(x)[0].detach().numpy(), Statevector(encoding).data,
                               atol=1e-10)


def test_mirror_layers_have_their_own_weights_and_move_away_from_identity():
    cfg = CircuitConfig(n_qubits=3, layers=2, init="identity_blocks")
    layer = QuantumLayer(cfg, seed=1, dtype=torch.float64)
    x = torch.rand(6, 3, dtype=torch.float64) * math.pi
    layer(x).pow(2).sum().backward()
    grad = layer.weights.grad
    assert float(grad[:6].abs().max()) > 1e-3 and float(grad[6:].abs().max()) > 1e-3
    with torch.no_grad():
        layer.weights.sub_(0.3 * grad)
    assert not np.allclose(ansatz_operator(layer, cfg).data, np.eye(8), atol=1e-3)
    uniform = QuantumLayer(CircuitConfig(n_qubits=3, layers=2), seed=1)
    assert build_circuit(uniform.config).circuit != build_circuit(cfg).circuit


@pytest.mark.parametrize("fields", [{"layers": 3}, {"layers": 2, "reupload": True}])
def test_odd_layers_or_reupload_are_refused(fields):
    with pytest.raises(ConfigError, match="identity_blocks"):
        CircuitConfig(init="identity_blocks", **fields)


@pytest.mark.parametrize("ansatz,layers", [("hardware_efficient", 2), ("hardware_efficient", 4),
                                           ("strongly_entangling", 4)])
def test_identity_blocks_circuits_never_entangle(ansatz, layers):
    """Each mirror layer's reversed CNOTs follow its partner's directly and cancel for any
    angles (README: why identity_blocks is not the default); uniform circuits entangle."""
    blocks = expressibility(CircuitConfig(n_qubits=3, ansatz=ansatz, layers=layers,
                                          init="identity_blocks"), n_pairs=200)
    assert blocks.entangling == pytest.approx(0.0, abs=1e-9)
    uniform = expressibility(CircuitConfig(n_qubits=3, ansatz=ansatz, layers=layers), n_pairs=200)
    assert uniform.entangling > 0.2


def test_identity_blocks_trains_on_digits():
    cfg = RunConfig.from_dict({
        "data": {"name": "digits", "train_size": 300, "test_size": 150, "val_fraction": 0.2},
        "circuit": {"n_qubits": 6, "layers": 2, "init": "identity_blocks"},
        "model": {"hidden": 0},
        "train": {"epochs": 6, "batch_size": 24, "lr": 0.05, "seed": 1}})
    result = fit(cfg)
    epochs = result.metrics["history"]["epoch"]
    assert epochs[-1]["loss"] < 0.8 * epochs[0]["loss"]
    assert result.metrics["test_accuracy"] > 0.5  # chance is 0.1
