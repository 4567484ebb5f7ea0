"""Random circuits of standard gates, with random angle expressions, against Qiskit.

Built-in encodings and ansätze exercise only some gate orders and angle forms; a user's
circuit (``QuantumLayer.from_circuit``) may use any. Two bugs were found this way: a weight
layer written high qubit first, and a purely quadratic input angle beside a weight angle.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hqnn_core import QuantumLayer

ONE_QUBIT = ["rx", "ry", "rz", "p"]
TWO_QUBIT = ["crz", "cp", "rzz", "rxx", "ryy", "rzx", "crx", "cry"]
FIXED = ["h", "s", "t", "sx", "x", "cx", "cz", "swap"]


@st.composite
def circuits(draw: st.DrawFn) -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    n = draw(st.integers(2, 4))
    x, w = ParameterVector("x", 3), ParameterVector("w", 4)
    terms = [lambda: x[draw(st.integers(0, 2))],
             lambda: w[draw(st.integers(0, 3))],
             lambda: draw(st.sampled_from([-2.0, 0.5, 3.0])) * x[draw(st.integers(0, 2))] + 0.25,
             lambda: w[draw(st.integers(0, 3))] - x[draw(st.integers(0, 2))],
             lambda: x[draw(st.integers(0, 2))] * x[draw(st.integers(0, 2))]]
    qc = QuantumCircuit(n)
    for _ in range(draw(st.integers(3, 14))):
        kind = draw(st.sampled_from(["one", "two", "fixed"]))
        a, b = draw(st.permutations(range(n)))[:2]
        angle = terms[draw(st.integers(0, len(terms) - 1))]()
        if kind == "one":
            getattr(qc, draw(st.sampled_from(ONE_QUBIT)))(angle, a)
        elif kind == "two":
            getattr(qc, draw(st.sampled_from(TWO_QUBIT)))(angle, a, b)
        else:
            gate = draw(st.sampled_from(FIXED))
            getattr(qc, gate)(*((a, b) if gate in ("cx", "cz", "swap") else (a,)))
    return qc, x, w


@settings(max_examples=60, deadline=None)
@given(circuits(), st.integers(0, 2**16))
def test_random_circuit_matches_statevector(case, seed: int) -> None:
    qc, x, w = case
    inputs = [p for p in x if p in qc.parameters] or [x[0]]
    weights = [p for p in w if p in qc.parameters]
    observables = [SparsePauliOp("I" * (qc.num_qubits - 1) + "Z"), SparsePauliOp("Z" * qc.num_qubits)]
    layer = QuantumLayer.from_circuit(qc, inputs, weights, observables, dtype=torch.float64,
                                      seed=seed)
    values = torch.rand(2, len(inputs), dtype=torch.float64,
                        generator=torch.Generator().manual_seed(seed)) * 4 - 2
    for row, out in zip(values, layer(values).detach().numpy()):
        state = Statevector(layer.bound_circuit(row[None]))
        expected = [state.expectation_value(o).real for o in observables]
        np.testing.assert_allclose(out, expected, atol=1e-10)
        np.testing.assert_allclose(layer.statevector(row[None]).detach().numpy()[0], state.data,
                                   atol=1e-10)


@st.composite
def layered_circuits(draw: st.DrawFn) -> tuple[QuantumCircuit, list, list]:
    """The fused path's shape: a rotation sequence per qubit, then layers of one sequence per
    qubit (weights, sometimes inputs too) between CNOT/SWAP patterns."""
    n = draw(st.integers(1, 9))
    kinds = st.lists(st.sampled_from(["rx", "ry", "rz"]), min_size=1, max_size=3)
    x = ParameterVector("x", n)
    weights: list = []
    qc = QuantumCircuit(n)
    for q in range(n):
        for kind in draw(kinds):
            getattr(qc, kind)(x[q], q)
    for layer in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(0, n))):
            if n > 1:
                a, b = draw(st.permutations(range(n)))[:2]
                getattr(qc, draw(st.sampled_from(["cx", "swap"])))(a, b)
        sequence, reupload = draw(kinds), draw(st.booleans())
        block = ParameterVector(f"w{layer}", n * len(sequence))
        weights += list(block)
        for q in range(n):
            for d, kind in enumerate(sequence):
                angle = block[q * len(sequence) + d]
                getattr(qc, kind)(angle + x[q] if reupload and d == 0 else angle, q)
    return qc, list(x), weights


@settings(max_examples=40, deadline=None)
@given(layered_circuits(), st.integers(0, 2**16))
def test_fused_path_on_random_layered_circuits(case, seed: int) -> None:
    qc, inputs, weights = case
    n = qc.num_qubits
    observables = [SparsePauliOp("I" * (n - 1) + "Z"), SparsePauliOp("Z" * n)]
    layer = QuantumLayer.from_circuit(qc, inputs, weights, observables, dtype=torch.float64,
                                      seed=seed)
    values = torch.rand(3, n, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(seed)).requires_grad_()
    results = []
    for fused in (True, False):
        layer.use_fused = fused
        values.grad, layer.weights.grad = None, None
        out = layer(values)
        if out.requires_grad:  # not when only diagonal gates precede the Z readout
            (out * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum().backward()
        results.append((out.detach(), _grad(values), _grad(layer.weights)))
    for fast, reference in zip(*results):
        torch.testing.assert_close(fast, reference, atol=1e-10, rtol=0)
    state = Statevector(layer.bound_circuit(values[:1].detach()))
    np.testing.assert_allclose(results[0][0][0].numpy(),
                               [state.expectation_value(o).real for o in observables],
                               atol=1e-10)


def _grad(tensor: torch.Tensor) -> torch.Tensor:
    """The gradient, zero where autograd found no path (e.g. only diagonal gates read it)."""
    return torch.zeros_like(tensor) if tensor.grad is None else tensor.grad.clone()
