"""From measured bitstrings to layer outputs: sparse counts, diagonal observables.

Every readout of a layer is diagonal in the computational basis (``"z"``/``"zz"`` are
Z-strings, ``"probs"`` is the distribution itself), so all sampled backends share one path:
bitstrings -> sparse (row, basis index, probability) triples -> outputs. Basis indices are
little-endian: logical qubit ``i`` is bit ``i`` (classical bit ``i`` measures logical qubit ``i``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.errors import ConfigError

MAX_DENSE_QUBITS = 12


@dataclass(frozen=True)
class SparseCounts:
    """Measured distributions of ``n_rows`` parameter sets as sparse triples."""

    rows: np.ndarray  # (N,) int64 parameter-set index
    keys: np.ndarray  # (N,) int64 basis-state index (little-endian)
    probs: np.ndarray  # (N,) float64 measured frequency
    n_rows: int
    n_qubits: int

    def dense(self) -> np.ndarray:
        """``(n_rows, 2**n)`` probability vectors."""
        if self.n_qubits > MAX_DENSE_QUBITS:
            raise ConfigError(
                f"Full distributions of {self.n_qubits} qubits are too large; use "
                f"{MAX_DENSE_QUBITS} qubits or fewer for probabilities or mitigation."
            )
        out = np.zeros((self.n_rows, 2**self.n_qubits))
        np.add.at(out, (self.rows, self.keys), self.probs)
        return out

    @classmethod
    def from_dense(cls, probs: np.ndarray) -> "SparseCounts":
        """From dense frequencies ``(M, 2**n)`` (zero entries dropped)."""
        rows, keys = np.nonzero(probs)
        return cls(rows=rows.astype(np.int64), keys=keys.astype(np.int64),
                   probs=probs[rows, keys].astype(np.float64), n_rows=probs.shape[0],
                   n_qubits=int(np.log2(probs.shape[1])))

    @classmethod
    def from_samples(cls, samples: np.ndarray, n_qubits: int) -> "SparseCounts":
        """From integer samples ``(M, shots)`` (one basis index per shot)."""
        n_rows, shots = samples.shape
        combined = np.arange(n_rows, dtype=np.int64)[:, None] * (1 << n_qubits) + samples
        unique, counts = np.unique(combined.ravel(), return_counts=True)
        return cls(rows=unique >> n_qubits, keys=unique & ((1 << n_qubits) - 1),
                   probs=counts / shots, n_rows=n_rows, n_qubits=n_qubits)

    @classmethod
    def from_count_dicts(cls, counts: list[dict[str, int]], n_qubits: int) -> "SparseCounts":
        """From one counts dictionary per parameter set (hex or binary string keys)."""
        rows, keys, probs = [], [], []
        for row, table in enumerate(counts):
            total = sum(table.values())
            for key, value in table.items():
                rows.append(row)
                keys.append(int(key, 16) if key.startswith("0x") else int(key.replace(" ", ""), 2))
                probs.append(value / total)
        return cls(rows=np.asarray(rows, dtype=np.int64), keys=np.asarray(keys, dtype=np.int64),
                   probs=np.asarray(probs, dtype=np.float64), n_rows=len(counts),
                   n_qubits=n_qubits)


def bitarray_samples(bits: object) -> np.ndarray:
    """Integer samples ``(M, shots)`` from a qiskit ``BitArray`` of shape ``(M,)``."""
    packed = np.asarray(bits.array, dtype=np.int64)  # type: ignore[attr-defined]
    # packed: (M, shots, n_bytes)
    n_bytes = packed.shape[-1]
    weights = (1 << (8 * np.arange(n_bytes - 1, -1, -1))).astype(np.int64)  # big-endian bytes
    return (packed * weights).sum(axis=-1)


def _signs(keys: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``(N, T)`` eigenvalues ±1 of Z-strings ``masks`` on basis states ``keys``."""
    parity = (np.bitwise_count(keys[:, None] & masks[None, :]) & 1).astype(np.int64)
    return 1 - 2 * parity


class Readout:
    """The diagonal readout of a layer: ``"probs"`` or a list of Z-string observables."""

    def __init__(self, measurement: str, observables: list[SparsePauliOp], n_qubits: int) -> None:
        self.measurement = measurement
        self.n_qubits = n_qubits
        self.observables = list(observables)
        if measurement == "probs":
            self.n_outputs = 2**n_qubits
            self._terms: list[tuple[np.ndarray, np.ndarray]] = []
            return
        if not self.observables:
            raise ConfigError(f"measurement={measurement!r} needs observables, the layer has none.")
        self._terms = []
        for obs in self.observables:
            if obs.num_qubits != n_qubits or np.any(obs.paulis.x):
                raise ConfigError(
                    "Sampled backends read only Z-type observables on the layer's qubits; "
                    f"got {obs}."
                )
            weights = 1 << np.arange(n_qubits, dtype=np.int64)
            masks = (obs.paulis.z.astype(np.int64) * weights).sum(axis=1)  # (T,)
            self._terms.append((masks, np.real(obs.coeffs).astype(np.float64)))
        self.n_outputs = len(self.observables)

    def from_counts(self, counts: SparseCounts) -> np.ndarray:
        """Outputs ``(n_rows, n_outputs)`` from measured sparse counts."""
        if self.measurement == "probs":
            return counts.dense()
        out = np.zeros((counts.n_rows, self.n_outputs))
        for k, (masks, coeffs) in enumerate(self._terms):
            values = (_signs(counts.keys, masks) * coeffs).sum(axis=1) * counts.probs  # (N,)
            np.add.at(out[:, k], counts.rows, values)
        return out

    def from_probs(self, probs: np.ndarray) -> np.ndarray:
        """Outputs ``(M, n_outputs)`` from dense probabilities ``(M, 2**n)``."""
        if self.measurement == "probs":
            return probs
        keys = np.arange(2**self.n_qubits, dtype=np.int64)
        table = np.stack([(_signs(keys, masks) * coeffs).sum(axis=1)
                          for masks, coeffs in self._terms], axis=1)  # (2**n, K)
        return probs @ table
