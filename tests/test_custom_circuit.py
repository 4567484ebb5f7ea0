"""QuantumLayer.from_circuit: a user's own Qiskit circuit, checked against Qiskit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hqnn_core import QuantumLayer
from hqnn_core.errors import ConfigError


def entangled_circuit() -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    """Inputs in RY/RX and a quadratic RZZ, weights in a controlled rotation and a phase."""
    x, w = ParameterVector("x", 3), ParameterVector("w", 4)
    qc = QuantumCircuit(3, name="mine")
    qc.h(2)
    qc.ry(x[0], 0)
    qc.rx(2 * x[1] + 0.3, 1)
    qc.rzz(x[0] * x[2], 0, 2)
    qc.cx(0, 1)
    qc.crz(w[0], 1, 2)
    qc.ry(w[1] - x[2], 2)
    qc.p(w[2], 0)
    qc.rx(w[3], 1)
    qc.cz(1, 2)
    return qc, x, w


OBSERVABLES = [SparsePauliOp("IIZ"), SparsePauliOp.from_list([("ZZI", 0.5), ("ZII", -1.0)]),
               SparsePauliOp("ZIZ")]


def reference(layer: QuantumLayer, x: torch.Tensor) -> np.ndarray:
    rows = []
    for sample in x:
        state = Statevector(layer.bound_circuit(sample[None]))
        if layer.measurement == "probs":
            rows.append(state.probabilities())
        else:
            rows.append([state.expectation_value(o).real for o in layer.observables])
    return np.array(rows)


def test_own_circuit_matches_statevector_expectations() -> None:
    qc, x, w = entangled_circuit()
    layer = QuantumLayer.from_circuit(qc, x, w, OBSERVABLES, dtype=torch.float64, seed=1)
    inputs = torch.rand(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert (layer.n_features, layer.n_outputs, layer.n_weights) == (3, 3, 4)
    np.testing.assert_allclose(layer(inputs).detach().numpy(), reference(layer, inputs),
                               atol=1e-10)


def test_own_circuit_without_observables_gives_probabilities() -> None:
    qc, x, w = entangled_circuit()
    layer = QuantumLayer.from_circuit(qc, x, w, seed=2)
    inputs = torch.rand(4, 3, generator=torch.Generator().manual_seed(1))
    assert layer.n_outputs == 8 and layer.measurement == "probs"
    np.testing.assert_allclose(layer(inputs).detach().numpy(), reference(layer, inputs),
                               atol=1e-5)


def test_own_circuit_gradients_pass_gradcheck() -> None:
    qc, x, w = entangled_circuit()
    layer = QuantumLayer.from_circuit(qc, x, w, OBSERVABLES, dtype=torch.float64, seed=3)
    inputs = torch.rand(3, 3, dtype=torch.float64).requires_grad_()

    def f(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, {"weights": weights}, (values,))

    assert torch.autograd.gradcheck(f, (inputs, layer.weights.detach().clone().requires_grad_()))


def test_product_encoded_own_circuit_takes_the_fused_path() -> None:
    """A product encoding with weight-only layers is recognised whoever built the circuit."""
    x, w = ParameterVector("x", 4), ParameterVector("w", 8)
    qc = QuantumCircuit(4)
    for q in range(4):
        qc.rx(x[q], q)
        qc.rz(w[q], q)
    for q in range(3):
        qc.cx(q, q + 1)
    for q in range(4):
        qc.ry(w[4 + q], q)
    observables = [SparsePauliOp("IIIZ"), SparsePauliOp("ZZII")]
    layer = QuantumLayer.from_circuit(qc, x, w, observables, dtype=torch.float64, seed=4)
    assert layer._fused is not None
    inputs = torch.rand(6, 4, dtype=torch.float64).requires_grad_()
    grads = []
    for fused in (True, False):
        layer.use_fused = fused
        inputs.grad, layer.weights.grad = None, None
        out = layer(inputs)
        out.sum().backward()
        grads.append((out.detach(), inputs.grad.clone(), layer.weights.grad.clone()))
    for fast, slow in zip(*grads):
        torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)
    np.testing.assert_allclose(grads[0][0].numpy(), reference(layer, inputs.detach()),
                               atol=1e-10)


def test_own_circuit_runs_on_aer_with_the_same_weights() -> None:
    qc, x, w = entangled_circuit()
    exact = QuantumLayer.from_circuit(qc, x, w, OBSERVABLES, seed=5)
    aer = QuantumLayer.from_circuit(qc, x, w, OBSERVABLES, backend="aer", seed=5)
    inputs = torch.rand(2, 3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(aer(inputs), exact(inputs), atol=1e-5, rtol=0)


def test_observable_diagonals_are_the_operators_diagonals() -> None:
    """Sums of Z strings with identities, mixed coefficients and imaginary parts that
    cancel, on 1 to 6 qubits: the readout's diagonals equal Qiskit's matrices'."""
    from hqnn_core.simulator.readout import observable_diagonals

    rng = np.random.default_rng(4)
    for n in range(1, 7):
        observables = [SparsePauliOp("I" * (n - 1) + "Z"), SparsePauliOp("Z" * n, -0.5),
                       SparsePauliOp(["Z" * n, "Z" * n], [1j, -1j]),
                       SparsePauliOp(["".join(rng.choice(["I", "Z"], n)) for _ in range(4)],
                                     rng.normal(size=4))]
        diagonals = observable_diagonals(observables, n)
        assert diagonals.shape == (2**n, len(observables))
        for k, observable in enumerate(observables):
            np.testing.assert_allclose(diagonals[:, k], observable.to_matrix().diagonal().real,
                                       atol=1e-14, rtol=0)


@pytest.mark.parametrize("observable,message", [
    (SparsePauliOp("IXZ"), "X or Y factors"),
    (SparsePauliOp("ZZ"), "SparsePauliOp on 3 qubits"),
    (SparsePauliOp("IIZ", coeffs=[1j]), "Hermitian"),
])
def test_unreadable_observables_are_refused(observable: SparsePauliOp, message: str) -> None:
    qc, x, w = entangled_circuit()
    with pytest.raises(ConfigError, match=message):
        QuantumLayer.from_circuit(qc, x, w, [observable])


def test_undeclared_parameters_and_measurements_are_refused() -> None:
    qc, x, w = entangled_circuit()
    with pytest.raises(ConfigError, match="neither inputs nor weights"):
        QuantumLayer.from_circuit(qc, x, list(w)[:3])
    measured = qc.copy()
    measured.measure_all()
    with pytest.raises(ConfigError, match="remove measurements"):
        QuantumLayer.from_circuit(measured, x, w)
    with pytest.raises(ConfigError, match="QuantumCircuit"):
        QuantumLayer.from_circuit("not a circuit", x, w)  # type: ignore[arg-type]


def test_circuit_layer_trains_inside_a_torch_model() -> None:
    theta = Parameter("theta")
    x = ParameterVector("x", 1)
    qc = QuantumCircuit(1)
    qc.ry(x[0], 0)
    qc.ry(theta, 0)
    layer = QuantumLayer.from_circuit(qc, x, [theta], [SparsePauliOp("Z")], seed=0)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    inputs = torch.zeros(8, 1)
    for _ in range(60):  # drive <Z> to -1: theta -> pi
        opt.zero_grad()
        layer(inputs).mean().backward()
        opt.step()
    assert layer(inputs).mean().item() < -0.99


def test_rotation_layer_written_out_of_qubit_order() -> None:
    """Regression: a weight layer whose gates come high qubit first once read its angles in
    the wrong order."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.cx(0, 1)
    qc.ry(w[0], 1)
    qc.rx(w[1], 0)
    layer = QuantumLayer.from_circuit(qc, x, w, dtype=torch.float64, seed=1)
    inputs = torch.rand(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    np.testing.assert_allclose(layer(inputs).detach().numpy(), reference(layer, inputs),
                               atol=1e-12)


def test_purely_quadratic_input_angle_beside_a_weight_angle() -> None:
    """Regression: RZZ(x0 * x1) (no linear input term) fused with a weight-angle CRZ raised
    a TypeError. This is the README's example circuit."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 3)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.rx(2 * x[1], 1)
    qc.rzz(x[0] * x[1], 0, 1)
    qc.crz(w[0], 0, 1)
    qc.ry(w[1], 0)
    qc.rx(w[2], 1)
    layer = QuantumLayer.from_circuit(qc, x, w, [SparsePauliOp("IZ"), SparsePauliOp("ZZ")],
                                      dtype=torch.float64, seed=0)
    inputs = torch.rand(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    np.testing.assert_allclose(layer(inputs).detach().numpy(), reference(layer, inputs),
                               atol=1e-12)


def test_one_observable_need_not_be_in_a_list() -> None:
    qc, x, w = entangled_circuit()
    single = QuantumLayer.from_circuit(qc, x, w, OBSERVABLES[1], seed=6)
    listed = QuantumLayer.from_circuit(qc, x, w, [OBSERVABLES[1]], seed=6)
    inputs = torch.rand(3, 3, generator=torch.Generator().manual_seed(7))
    assert single.n_outputs == 1
    torch.testing.assert_close(single(inputs), listed(inputs))


def test_empty_observables_and_shared_parameters_are_refused() -> None:
    qc, x, w = entangled_circuit()
    with pytest.raises(ConfigError, match="at least one observable"):
        QuantumLayer.from_circuit(qc, x, w, [])
    with pytest.raises(ConfigError, match="both an input and a weight"):
        QuantumLayer.from_circuit(qc, x, [*w, x[0]])
