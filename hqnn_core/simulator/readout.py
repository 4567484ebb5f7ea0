"""Z-basis readouts, with trailing diagonal gates dropped and permutations folded in."""

from __future__ import annotations

import numpy as np
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.errors import ConfigError
from hqnn_core.simulator import gates
from hqnn_core.simulator.compile import DiagStep, LocalStep, PermStep, Step


def readout_prefix(steps: list[Step], n_qubits: int) -> tuple[int, np.ndarray]:
    """How many steps change Z-basis probabilities, and the index map of the rest.

    Returns ``(k, idx)``: the probabilities of the full circuit are
    ``probs_after_k_steps[:, idx]``.
    """
    k = len(steps)
    idx: np.ndarray | None = None
    while k > 0:
        step = steps[k - 1]
        if isinstance(step, DiagStep) or (isinstance(step, LocalStep) and _all_diagonal(step)):
            k -= 1
        elif isinstance(step, PermStep):
            idx = step.perm.copy() if idx is None else step.perm[idx]
            k -= 1
        else:
            break
    return k, (np.arange(2**n_qubits) if idx is None else idx)


def _all_diagonal(step: LocalStep) -> bool:
    for gate_list in step.gates.values():
        for gate in gate_list:
            if gate.matrix is not None:
                if not np.allclose(gate.matrix, np.diag(np.diag(gate.matrix))):
                    return False
            elif gate.name not in gates.DIAGONAL_1Q:
                return False
    return True


def observable_diagonals(observables: list[SparsePauliOp], n_qubits: int) -> np.ndarray:
    """(2**n, K) diagonals of Z-type observables: entry [i, k] = <i|O_k|i>.

    Raises ConfigError for an observable on other qubits, with X or Y factors (rotate the
    basis inside the circuit instead), or that is not Hermitian.
    """
    idx = np.arange(2**n_qubits)
    real = np.zeros((len(observables), 2**n_qubits))
    imag = np.zeros_like(real)
    for k, observable in enumerate(observables):
        if not isinstance(observable, SparsePauliOp) or observable.num_qubits != n_qubits:
            raise ConfigError(f"Observable {k} must be a SparsePauliOp on {n_qubits} qubits.")
        paulis = observable.paulis
        if np.any(paulis.x):
            raise ConfigError(
                f"Observable {k} has X or Y factors; the layer reads Z-type observables — add "
                "the basis change (e.g. H for X) to the circuit and measure Z."
            )
        for z, phase, coeff in zip(paulis.z, paulis.phase, observable.coeffs):
            parity = np.zeros(idx.shape, dtype=np.int64)  # of the bits the Z string covers
            for q in np.flatnonzero(z):
                parity ^= idx >> q
            signs = 1.0 - 2.0 * (parity & 1)
            weight = complex(coeff * (-1j) ** phase)
            real[k] += weight.real * signs
            if weight.imag:
                imag[k] += weight.imag * signs
    if np.abs(imag).max(initial=0) > 1e-12:
        raise ConfigError("Observables must be Hermitian (real coefficients).")
    return np.ascontiguousarray(real.T)
