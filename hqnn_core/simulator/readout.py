"""Z-basis readouts, with trailing diagonal gates dropped and permutations folded in."""

from __future__ import annotations

import numpy as np

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


def z_sign_matrix(n_qubits: int, terms: list[list[int]]) -> np.ndarray:
    """(2**n, len(terms)) eigenvalues of Z-strings: entry [i, t] = prod_{q in t} (1 - 2 bit_q(i))."""
    idx = np.arange(2**n_qubits)
    out = np.ones((2**n_qubits, len(terms)))
    for t, qubits in enumerate(terms):
        for q in qubits:
            out[:, t] *= 1 - 2 * ((idx >> q) & 1)
    return out
