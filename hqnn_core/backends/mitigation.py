"""Tensored (per-qubit) readout-error mitigation for sampled probabilities.

Calibration prepares |0...0> and |1...1> on the same device (or noisy simulator) that runs
the model, measures both, and reads per-qubit flip rates from the marginals:
``e0[i] = P(read 1 | prepared 0)`` and ``e1[i] = P(read 0 | prepared 1)``. Each qubit's
confusion matrix ``A_i = [[1 - e0, e1], [e0, 1 - e1]]`` is inverted and the tensor product of
the inverses is applied to measured probability vectors (little-endian: qubit 0 is the least
significant bit of a basis-state index). Z expectations are computed from the mitigated
probabilities, so they are mitigated too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

from hqnn_core.errors import BackendError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadoutCalibration:
    """Per-qubit readout flip rates of one device (logical qubit order)."""

    e0: np.ndarray  # (n,) P(read 1 | prepared 0)
    e1: np.ndarray  # (n,) P(read 0 | prepared 1)

    @property
    def n_qubits(self) -> int:
        """Number of calibrated qubits."""
        return int(self.e0.shape[0])

    def inverse_matrices(self) -> list[np.ndarray]:
        """The inverted 2x2 confusion matrix of every qubit, qubit 0 first."""
        inverses = []
        for q, (e0, e1) in enumerate(zip(self.e0, self.e1)):
            confusion = np.array([[1.0 - e0, e1], [e0, 1.0 - e1]])
            if abs(1.0 - e0 - e1) < 1e-6:
                raise BackendError(
                    f"Readout of qubit {q} is pure noise (flip rates {e0:.2f}/{e1:.2f}); "
                    "mitigation is impossible, recalibrate or use another device."
                )
            inverses.append(np.linalg.inv(confusion))
        return inverses

    def apply(self, probs: np.ndarray, *, clip: bool = False) -> np.ndarray:
        """Mitigate probability vectors ``(..., 2**n)``; ``clip`` makes them probabilities again."""
        n = self.n_qubits
        lead = probs.shape[:-1]
        state = probs.reshape((-1,) + (2,) * n)  # (M, 2, ..., 2); axis 1 is the top qubit n-1
        for q, inverse in enumerate(self.inverse_matrices()):
            axis = n - q  # little-endian: qubit q is axis n - q of the reshaped tensor
            state = np.moveaxis(np.tensordot(inverse, state, axes=([1], [axis])), 0, axis)
        out = state.reshape(lead + (2**n,))
        if clip:
            out = np.clip(out, 0.0, None)
            out = out / np.maximum(out.sum(axis=-1, keepdims=True), 1e-12)
        return out


def calibration_circuits(n_qubits: int) -> list[QuantumCircuit]:
    """Two measured circuits preparing |0...0> and |1...1> on ``n_qubits`` qubits."""
    zero = QuantumCircuit(QuantumRegister(n_qubits, "q"), ClassicalRegister(n_qubits, "meas"),
                          name="cal_0")
    zero.measure(range(n_qubits), range(n_qubits))
    one = QuantumCircuit(QuantumRegister(n_qubits, "q"), ClassicalRegister(n_qubits, "meas"),
                         name="cal_1")
    one.x(range(n_qubits))
    one.measure(range(n_qubits), range(n_qubits))
    return [zero, one]


def calibration_from_probs(p_zero: np.ndarray, p_one: np.ndarray) -> ReadoutCalibration:
    """Per-qubit flip rates from the measured distributions of |0...0> and |1...1>."""
    n = int(np.log2(p_zero.shape[-1]))
    indices = np.arange(2**n)
    e0 = np.empty(n)
    e1 = np.empty(n)
    for q in range(n):
        bit = (indices >> q) & 1
        e0[q] = float(p_zero[bit == 1].sum())
        e1[q] = float(p_one[bit == 0].sum())
    logger.info("Readout calibration: e0=%s e1=%s", np.round(e0, 4), np.round(e1, 4))
    return ReadoutCalibration(e0=e0, e1=e1)


def calibrate(sample: Callable[[list[QuantumCircuit]], np.ndarray],
              n_qubits: int) -> ReadoutCalibration:
    """Run the two calibration circuits through ``sample`` (circuits -> (2, 2**n) probabilities)."""
    probs = sample(calibration_circuits(n_qubits))
    return calibration_from_probs(probs[0], probs[1])


def raw_and_mitigated(
    probs: np.ndarray, calibration: ReadoutCalibration, readout: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Raw and mitigated results side by side.

    ``probs`` is ``(..., 2**n)``; with ``readout`` (a ``(2**n, K)`` diagonal-observable matrix)
    the results are expectations ``(..., K)``, otherwise clipped probabilities.
    """
    mitigated = calibration.apply(probs, clip=readout is None)
    if readout is None:
        return {"raw": probs, "mitigated": mitigated}
    return {"raw": probs @ readout, "mitigated": mitigated @ readout}
