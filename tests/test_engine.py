"""The torch engine against trusted references: Qiskit Operator/Statevector, gradcheck,
and the parameter-shift rule."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.circuit.library import (CRXGate, CRYGate, CRZGate, CPhaseGate, PhaseGate, RXGate,
                                    RXXGate, RYGate, RYYGate, RZGate, RZXGate, RZZGate)
from qiskit.quantum_info import Operator, Statevector

from hqnn_core import CircuitConfig, QuantumLayer
from hqnn_core.config import ANSATZE, ENCODINGS, ENTANGLEMENTS, MEASUREMENTS
from hqnn_core.simulator import gates
from hqnn_core.simulator.compile import compile_circuit
from hqnn_core.simulator.engine import StatevectorProgram
from hqnn_core.simulator.fused import KERNEL_MAX_AMPLITUDES

RNG = np.random.default_rng(7)
ONE_QUBIT = {"rx": RXGate, "ry": RYGate, "rz": RZGate, "p": PhaseGate}
TWO_QUBIT = {"rzz": RZZGate, "rxx": RXXGate, "ryy": RYYGate, "rzx": RZXGate, "cp": CPhaseGate,
             "crz": CRZGate, "crx": CRXGate, "cry": CRYGate}


@pytest.mark.parametrize("name", sorted(ONE_QUBIT))
def test_single_qubit_gate_matrices_match_qiskit(name: str) -> None:
    angles = torch.tensor(RNG.uniform(-2 * math.pi, 2 * math.pi, 6), dtype=torch.float64)
    re, im = gates.ROTATIONS[name](torch.cos(angles / 2), torch.sin(angles / 2))
    im = torch.zeros_like(re) if im is None else im
    ours = torch.complex(re, im).numpy()
    for k, theta in enumerate(angles.tolist()):
        np.testing.assert_allclose(ours[k], Operator(ONE_QUBIT[name](theta)).data, atol=1e-12)


@pytest.mark.parametrize("name", sorted(TWO_QUBIT))
def test_two_qubit_gates_match_qiskit_operator(name: str) -> None:
    """Compile the gate between Bell pairs (its Choi state), so equal states mean equal
    matrices, phases included."""
    theta = ParameterVector("θ", 1)
    qc = QuantumCircuit(4)
    for system, ancilla in ((0, 2), (1, 3)):
        qc.h(ancilla)
        qc.cx(ancilla, system)
    qc.append(TWO_QUBIT[name](theta[0]), [0, 1])
    program = StatevectorProgram(compile_circuit(qc, [], list(theta)))
    for value in RNG.uniform(-4, 4, 3):
        state = program(torch.zeros(1, 0, dtype=torch.float64),
                        torch.tensor([value], dtype=torch.float64))[0].numpy()
        expected = Statevector(qc.assign_parameters([value])).data
        np.testing.assert_allclose(state, expected, atol=1e-12)


def test_constant_gates_compile_through_their_matrices() -> None:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.sx(1)
    qc.t(2)
    qc.cy(0, 1)
    qc.ch(1, 2)
    qc.ccx(0, 1, 2)
    qc.cswap(2, 0, 1)
    qc.cz(0, 2)
    qc.iswap(1, 2)
    qc.s(0)
    qc.y(1)
    program = StatevectorProgram(compile_circuit(qc, [], []))
    state = program(torch.zeros(1, 0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64))
    np.testing.assert_allclose(state[0].numpy(), Statevector(qc).data, atol=1e-12)
    program.to(torch.float32)  # complex constants must survive a module-wide dtype cast
    single = program(torch.zeros(1, 0), torch.zeros(0))
    assert single.dtype == torch.complex64
    np.testing.assert_allclose(single[0].numpy(), Statevector(qc).data, atol=1e-6)


def _reference(layer: QuantumLayer, x: torch.Tensor) -> np.ndarray:
    rows = []
    for row in x:
        state = Statevector(layer.bound_circuit(row))
        if layer.config.measurement == "probs":
            rows.append(state.probabilities())
        else:
            rows.append([state.expectation_value(o).real for o in layer.observables])
    return np.array(rows)


COMBINATIONS = [
    (enc, ans, meas, reupload)
    for enc, ans, meas, reupload in itertools.product(ENCODINGS, ANSATZE, MEASUREMENTS,
                                                      (False, True))
    if not (enc == "amplitude" and reupload)
]


@pytest.mark.parametrize("encoding,ansatz,measurement,reupload", COMBINATIONS)
def test_every_combination_matches_statevector(encoding: str, ansatz: str, measurement: str,
                                               reupload: bool) -> None:
    cfg = CircuitConfig(n_qubits=3, encoding=encoding, ansatz=ansatz, layers=2,
                        measurement=measurement, reupload=reupload)
    layer = QuantumLayer(cfg, seed=3)  # complex64, the default
    x = torch.rand(4, layer.n_features, generator=torch.Generator().manual_seed(1)) * 2
    np.testing.assert_allclose(layer(x).detach().numpy(), _reference(layer, x), atol=1e-5)


@pytest.mark.parametrize("entanglement", ENTANGLEMENTS)
@pytest.mark.parametrize("n_qubits", [1, 2, 5, 7, 9])
def test_sizes_and_entanglements_match_statevector(n_qubits: int, entanglement: str) -> None:
    """Covers the single-matrix path (n <= 6) and the Kronecker-block path (n > 6)."""
    for encoding in ("angle", "iqp", "amplitude"):
        cfg = CircuitConfig(n_qubits=n_qubits, encoding=encoding, ansatz="efficient_su2",
                            layers=2, entanglement=entanglement, measurement="zz")
        layer = QuantumLayer(cfg, dtype=torch.float64, seed=0)
        x = torch.rand(2, layer.n_features, dtype=torch.float64,
                       generator=torch.Generator().manual_seed(2))
        np.testing.assert_allclose(layer(x).detach().numpy(), _reference(layer, x), atol=1e-9)
        state = layer.statevector(x[:1])[0].detach().numpy()
        np.testing.assert_allclose(state, Statevector(layer.bound_circuit(x[0])).data, atol=1e-9)


@pytest.mark.parametrize("encoding", ["angle", "dense_angle", "iqp", "amplitude"])
def test_gradcheck_inputs_and_weights(encoding: str) -> None:
    cfg = CircuitConfig(n_qubits=3, encoding=encoding, ansatz="strongly_entangling", layers=2,
                        measurement="zz", reupload=encoding != "amplitude")
    layer = QuantumLayer(cfg, dtype=torch.float64, seed=5)
    x = (torch.rand(2, layer.n_features, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3)) + 0.1).requires_grad_()

    def f(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, {"weights": weights}, (inputs,))

    assert torch.autograd.gradcheck(f, (x, layer.weights.detach().clone().requires_grad_()))


def test_weight_gradients_equal_parameter_shift() -> None:
    cfg = CircuitConfig(n_qubits=4, encoding="angle", ansatz="hardware_efficient", layers=2,
                        measurement="z")
    layer = QuantumLayer(cfg, dtype=torch.float64, seed=11)
    x = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    readout = torch.tensor([0.3, -1.0, 0.5, 2.0], dtype=torch.float64)
    loss = (layer(x) @ readout).sum()
    (autograd,) = torch.autograd.grad(loss, layer.weights)
    shift = torch.zeros_like(layer.weights)
    shifted = []
    with torch.no_grad():
        base = layer.weights.detach().clone()
        for k in range(layer.n_weights):
            values = []
            for sign in (1, -1):
                shift.zero_()
                shift[k] = sign * math.pi / 2
                layer.weights.copy_(base + shift)
                values.append((layer(x) @ readout).sum())
            shifted.append((values[0] - values[1]) / 2)
        layer.weights.copy_(base)
    np.testing.assert_allclose(autograd.numpy(), torch.stack(shifted).numpy(), atol=1e-10)


def test_leading_batch_dimensions_are_kept() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3), seed=0)
    x = torch.rand(2, 5, 3)
    out = layer(x)
    assert out.shape == (2, 5, 3)
    torch.testing.assert_close(out[1, 2], layer(x[1, 2][None])[0])


def test_float64_matches_float32() -> None:
    cfg = CircuitConfig(n_qubits=5, encoding="iqp", ansatz="efficient_su2", measurement="probs")
    x = torch.rand(4, 5)
    single = QuantumLayer(cfg, seed=9)
    double = QuantumLayer(cfg, seed=9, dtype=torch.float64)
    np.testing.assert_allclose(single(x).detach().numpy(),
                               double(x.double()).detach().numpy(), atol=1e-5)
    assert double(x.double()).dtype == torch.float64


def test_probabilities_sum_to_one_and_z_stays_in_range() -> None:
    cfg = CircuitConfig(n_qubits=6, encoding="angle", measurement="probs", layers=3)
    probs = QuantumLayer(cfg, seed=1)(torch.randn(8, 6) * 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(8), atol=1e-5, rtol=0)
    z = QuantumLayer(CircuitConfig(n_qubits=6, measurement="zz"), seed=1)(torch.randn(8, 6))
    assert z.abs().max() <= 1 + 1e-6


def test_zero_amplitude_blocks_give_finite_gradients() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, encoding="amplitude"), seed=0)
    x = torch.zeros(2, 8)
    x[0, 5] = 1.0
    x[1, :3] = torch.tensor([0.2, 0.0, 0.7])
    x.requires_grad_()
    layer(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.isfinite(layer.weights.grad).all()


@pytest.mark.parametrize("cfg", [
    CircuitConfig(n_qubits=4),
    CircuitConfig(n_qubits=3, encoding="dense_angle", ansatz="strongly_entangling", layers=3,
                  measurement="probs"),
    CircuitConfig(n_qubits=5, ansatz="efficient_su2", measurement="zz", entanglement="full"),
    CircuitConfig(n_qubits=2, encoding="angle", ansatz="real_amplitudes", rotation="x"),
    CircuitConfig(n_qubits=6, encoding="angle", rotation="x", layers=2),
    CircuitConfig(n_qubits=6, encoding="dense_angle", ansatz="efficient_su2", layers=1),
    CircuitConfig(n_qubits=8, ansatz="strongly_entangling", layers=3, measurement="probs"),
    CircuitConfig(n_qubits=9, encoding="dense_angle", measurement="zz", entanglement="linear"),
    CircuitConfig(n_qubits=12, ansatz="real_amplitudes", layers=1),
    CircuitConfig(n_qubits=4, reupload=True, layers=3),
    CircuitConfig(n_qubits=5, encoding="dense_angle", reupload=True, measurement="probs"),
    CircuitConfig(n_qubits=9, ansatz="strongly_entangling", reupload=True, measurement="zz"),
])
def test_fused_path_equals_autograd_path(cfg: CircuitConfig) -> None:
    """The hand-written backward of the fused path gives autograd's numbers."""
    layer = QuantumLayer(cfg, dtype=torch.float64, seed=0)
    assert layer._fused is not None
    x = torch.rand(4, layer.n_features, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(0)).requires_grad_()
    readout = torch.randn(layer.n_outputs, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(1))
    results = []
    for fused in (True, False):
        layer.use_fused = fused
        x.grad, layer.weights.grad = None, None
        out = layer(x)
        (out @ readout).sum().backward()
        results.append((out.detach(), x.grad.clone(), layer.weights.grad.clone()))
    for fast, reference in zip(*results):
        torch.testing.assert_close(fast, reference, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cfg", [CircuitConfig(n_qubits=4),
                                 CircuitConfig(n_qubits=9, encoding="dense_angle",
                                               measurement="probs")])
def test_fused_path_in_single_precision_matches_autograd(cfg: CircuitConfig) -> None:
    """float32 layers run the fused path in complex64, as the torch engine does."""
    layer = QuantumLayer(cfg, seed=3)
    x = torch.rand(16, layer.n_features, generator=torch.Generator().manual_seed(2))
    x.requires_grad_()
    results = []
    for fused in (True, False):
        layer.use_fused = fused
        x.grad, layer.weights.grad = None, None
        out = layer(x)
        assert out.dtype == torch.float32
        (out * torch.linspace(-1, 1, layer.n_outputs)).sum().backward()
        results.append((out.detach(), x.grad.clone(), layer.weights.grad.clone()))
    for fast, reference in zip(*results):
        torch.testing.assert_close(fast, reference, atol=1e-5, rtol=0)


def test_fused_path_covers_product_encodings_and_declines_the_rest() -> None:
    """Product-state encodings followed by rotation layers (or by none: one layer) take the
    fused path, re-uploading circuits up to 12 qubits; entangling encodings and larger
    re-uploading registers use autograd."""
    assert QuantumLayer(CircuitConfig(n_qubits=8, layers=6))._fused is not None
    assert QuantumLayer(CircuitConfig(n_qubits=12, layers=2))._fused is not None
    assert QuantumLayer(CircuitConfig(n_qubits=4, reupload=True))._fused is not None
    assert QuantumLayer(CircuitConfig(n_qubits=13, layers=1))._fused is not None
    assert QuantumLayer(CircuitConfig(n_qubits=13, layers=2, reupload=True))._fused is None
    assert QuantumLayer(CircuitConfig(n_qubits=4, encoding="iqp"))._fused is None
    assert QuantumLayer(CircuitConfig(n_qubits=3, encoding="amplitude"))._fused is None


def test_fused_path_hands_large_batches_to_torch() -> None:
    """Beyond its limits the torch engine is faster, and the layer uses it."""
    layer = QuantumLayer(CircuitConfig(n_qubits=10, layers=2))
    assert layer._fused is not None
    assert layer._fused.applies_to(torch.zeros(32, 10))
    assert not layer._fused.applies_to(torch.zeros(65537, 10))  # above 2**26 amplitudes
    small = QuantumLayer(CircuitConfig(n_qubits=4, layers=2))  # the kernel: up to 2**26
    assert small._fused.applies_to(torch.zeros(KERNEL_MAX_AMPLITUDES // 16, 4))  # amplitudes
    assert not small._fused.applies_to(torch.zeros(KERNEL_MAX_AMPLITUDES // 16 + 1, 4))
    small._fused.kernel = None  # the NumPy path's limits
    assert small._fused.applies_to(torch.zeros(1024, 4))
    assert not small._fused.applies_to(torch.zeros(2048, 4))
    reuploading = QuantumLayer(CircuitConfig(n_qubits=4, reupload=True))
    assert reuploading._fused.applies_to(torch.zeros(64, 4))
    assert not reuploading._fused.applies_to(torch.zeros(128, 4))


def test_fused_path_passes_gradcheck() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, ansatz="efficient_su2", measurement="zz"),
                         dtype=torch.float64, seed=2)
    assert layer._fused is not None
    x = torch.rand(3, 3, dtype=torch.float64).requires_grad_()

    def f(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, {"weights": weights}, (inputs,))

    assert torch.autograd.gradcheck(f, (x, layer.weights.detach().clone().requires_grad_()))
