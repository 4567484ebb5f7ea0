"""Data encodings: append the gates that load classical features into the qubits.

Each encoding declares how many circuit input parameters it needs and how features map
onto them (``input_values``): angle, dense angle and IQP use the features as angles,
basis encoding uses bits (features thresholded at 0.5) and amplitude encoding uses the
``2**n - 1`` angles of a binary tree of uniformly controlled RY rotations.
"""

from __future__ import annotations

import math

import torch
from qiskit.circuit import Gate, ParameterExpression, ParameterVector, QuantumCircuit

from hqnn_core.circuits.entanglement import entangled_pairs
from hqnn_core.config import CircuitConfig


def n_input_parameters(cfg: CircuitConfig) -> int:
    """How many circuit input parameters the encoding uses."""
    if cfg.encoding == "amplitude":
        return 2**cfg.n_qubits - 1
    return cfg.n_features


def append_encoding(qc: QuantumCircuit, cfg: CircuitConfig, x: ParameterVector) -> None:
    """Append the encoding of ``cfg.encoding`` with input parameters ``x`` to ``qc``."""
    n = cfg.n_qubits
    if cfg.encoding == "angle":
        for q in range(n):
            _rotation(qc, cfg.rotation, x[q], q)
    elif cfg.encoding == "dense_angle":
        for q in range(n):
            qc.ry(x[2 * q], q)
            qc.rz(x[2 * q + 1], q)
    elif cfg.encoding == "basis":
        for q in range(n):
            qc.rx(math.pi * x[q], q)
    elif cfg.encoding == "iqp":
        for q in range(n):
            qc.h(q)
            qc.rz(x[q], q)
        for a, b in entangled_pairs(n, cfg.entanglement):
            qc.rzz(x[a] * x[b], a, b)
    elif cfg.encoding == "amplitude":
        qc.append(AmplitudeEncoding(n, list(x)), range(n))
    else:  # pragma: no cover - CircuitConfig validates encodings
        raise ValueError(cfg.encoding)


def _rotation(qc: QuantumCircuit, axis: str, angle: ParameterExpression, q: int) -> None:
    if axis == "x":
        qc.rx(angle, q)
    elif axis == "y":
        qc.ry(angle, q)
    else:
        qc.h(q)
        qc.rz(angle, q)


class AmplitudeEncoding(Gate):
    """Prepares ``sum_k a_k |k>`` from |0...0> given the tree angles of ``a``.

    Level ``l`` (qubit ``n-1-l``) is a uniformly controlled RY conditioned on the higher
    qubits, decomposed into RY and CNOT gates (Mottonen et al., 2004) so that every angle
    stays a linear expression of the input parameters and the circuit transpiles unbound.
    """

    def __init__(self, n_qubits: int, angles: list) -> None:
        super().__init__("amplitude_encoding", n_qubits, list(angles))

    def _define(self) -> None:
        n = self.num_qubits
        qc = QuantumCircuit(n, name=self.name)
        for level in range(n):
            target = n - 1 - level
            start = 2**level - 1
            angles = self.params[start:start + 2**level]
            controls = list(range(n - 1, target, -1))
            _uniformly_controlled_ry(qc, angles, controls, target)
        self.definition = qc


def _gray(i: int) -> int:
    return i ^ (i >> 1)


def _uniformly_controlled_ry(qc: QuantumCircuit, angles: list, controls: list[int],
                             target: int) -> None:
    """RY(angles[j]) on ``target`` when the controls read j (controls[0] is bit k-1 of j)."""
    k = len(controls)
    if k == 0:
        qc.ry(angles[0], target)
        return
    size = 2**k
    # Control value j has bit i on qubit controls[k-1-i], i.e. j is read with the qubit
    # nearest the target as its lowest bit.
    for i in range(size):
        theta = 0
        for j in range(size):
            sign = -1 if bin(j & _gray(i)).count("1") % 2 else 1
            theta = theta + sign * angles[j] / size
        qc.ry(theta, target)
        changed = _gray(i) ^ _gray((i + 1) % size)
        bit = changed.bit_length() - 1
        qc.cx(controls[k - 1 - bit], target)


def amplitude_tree_angles(features: torch.Tensor) -> torch.Tensor:
    """Map features (B, 2**n) to the (B, 2**n - 1) tree angles of the normalised vector.

    Angles are ordered level by level (top qubit first); within a level by the value of
    the higher qubits. Sub-vectors of zeros get angle 0 with a zero (not NaN) gradient.
    """
    batch, dim = features.shape
    n = dim.bit_length() - 1
    levels = []
    for level in range(n):
        target = n - 1 - level
        blocks = features.reshape(batch, 2**level, 2, 2**target)  # (B, nodes, bit, rest)
        if target == 0:
            low, high = blocks[..., 0, 0], blocks[..., 1, 0]
        else:
            low = blocks[..., 0, :].square().sum(-1)
            high = blocks[..., 1, :].square().sum(-1)
            low, high = _safe_sqrt(low), _safe_sqrt(high)
        empty = (low == 0) & (high == 0)
        angle = 2 * torch.atan2(torch.where(empty, 0.0, high), torch.where(empty, 1.0, low))
        levels.append(angle)
    return torch.cat(levels, dim=1)


def _safe_sqrt(v: torch.Tensor) -> torch.Tensor:
    positive = v > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, v, 1.0)), 0.0)
