"""The gate table: what the engine knows about each gate, and its matrix in torch.

Matrices follow Qiskit's conventions and little-endian order (a gate's first qubit is
the least significant bit of its matrix index); tests compare each with
``qiskit.quantum_info.Operator``. Single-qubit builders take the half-angle cosines and
sines ``c, s`` of shape (...,) and return real and imaginary parts of shape (..., 2, 2).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

Pair = tuple[torch.Tensor, torch.Tensor]


def _rx(c: torch.Tensor, s: torch.Tensor) -> Pair:
    z = torch.zeros_like(c)
    return (torch.stack([c, z, z, c], -1).unflatten(-1, (2, 2)),
            torch.stack([z, -s, -s, z], -1).unflatten(-1, (2, 2)))


def _ry(c: torch.Tensor, s: torch.Tensor) -> Pair:
    return torch.stack([c, -s, s, c], -1).unflatten(-1, (2, 2)), None  # type: ignore[return-value]


def _rz(c: torch.Tensor, s: torch.Tensor) -> Pair:
    z = torch.zeros_like(c)
    return (torch.stack([c, z, z, c], -1).unflatten(-1, (2, 2)),
            torch.stack([-s, z, z, s], -1).unflatten(-1, (2, 2)))


def _p(c: torch.Tensor, s: torch.Tensor) -> Pair:
    z, one = torch.zeros_like(c), torch.ones_like(c)
    return (torch.stack([one, z, z, c * c - s * s], -1).unflatten(-1, (2, 2)),
            torch.stack([z, z, z, 2 * c * s], -1).unflatten(-1, (2, 2)))


# Parameterized single-qubit gates with one angle, built from half-angle cos/sin.
ROTATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], Pair]] = {
    "rx": _rx, "ry": _ry, "rz": _rz, "p": _p,
}

# Single-qubit gates that are diagonal (can be dropped just before a Z-basis readout).
DIAGONAL_1Q = {"rz", "p", "z", "s", "sdg", "t", "tdg", "id"}

# Parameterized two-qubit diagonal gates: phase(idx) = angle * coefficient(bits) (+ const).
# Each function gets the bits (0/1 arrays over basis states) of the gate's two qubits.
DIAGONAL_2Q: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "rzz": lambda a, b: -0.5 * (1 - 2 * a) * (1 - 2 * b),
    "cp": lambda a, b: (a * b).astype(float),
    "crz": lambda a, b: a * (b - 0.5),
}

# Constant permutation gates (a basis state maps to one basis state, no phase).
PERMUTATIONS = {"cx", "swap", "ccx", "cswap"}

# Constant diagonal multi-qubit gates, given as a phase function of their qubits' bits.
CONSTANT_DIAGONALS: dict[str, Callable[..., np.ndarray]] = {
    "cz": lambda a, b: np.pi * a * b,
    "ccz": lambda a, b, c: np.pi * a * b * c,
}


def permutation_of(name: str, qubits: tuple[int, ...], n_qubits: int) -> np.ndarray:
    """Index map ``p`` with new_state[i] = old_state[p[i]] for a permutation gate."""
    idx = np.arange(2**n_qubits)
    if name in ("cx", "ccx"):
        *controls, target = qubits
        flip = np.ones_like(idx)  # 1 where every control is 1
        for c in controls:
            flip &= idx >> c
        return idx ^ (flip << target)
    if name in ("swap", "cswap"):
        *controls, a, b = qubits
        flip = ((idx >> a) ^ (idx >> b)) & 1  # 1 where the two bits differ (and controls are 1)
        for c in controls:
            flip &= idx >> c
        return idx ^ (flip * ((1 << a) | (1 << b)))
    raise KeyError(name)


def inverse_permutation(perm: np.ndarray) -> np.ndarray:
    """The index map ``q`` with ``q[perm[i]] = i`` (``np.argsort(perm)``, in linear time)."""
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=perm.dtype)
    return inverse


def bits_of(qubit: int, n_qubits: int) -> np.ndarray:
    """(2**n,) array with the value of ``qubit`` in each basis state."""
    return (np.arange(2**n_qubits) >> qubit) & 1


def controlled(u_re: torch.Tensor, u_im: torch.Tensor | None) -> Pair:
    """4x4 matrix of U on the gate's second qubit controlled by its first (little-endian)."""
    p0 = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=u_re.dtype, device=u_re.device)
    p1 = torch.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=u_re.dtype, device=u_re.device)
    eye = torch.eye(2, dtype=u_re.dtype, device=u_re.device)
    re = _kron(eye, p0) + _kron(u_re, p1)
    im = _kron(torch.zeros_like(u_re), p0) + (_kron(u_im, p1) if u_im is not None else 0)
    return re, im


def _kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product over the last two axes, broadcasting the leading ones."""
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(*out.shape[:-4], a.shape[-2] * b.shape[-2], a.shape[-1] * b.shape[-1])


def pauli_pair(name: str, c: torch.Tensor, s: torch.Tensor) -> Pair:
    """exp(-i theta/2 P⊗P) for rxx, ryy, rzx as 4x4 (re, im), little-endian."""
    x = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=c.dtype, device=c.device)
    z = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=c.dtype, device=c.device)
    eye4 = torch.eye(4, dtype=c.dtype, device=c.device)
    cc, ss = c[..., None, None], s[..., None, None]
    if name == "rxx":
        return cc * eye4, -ss * _kron(x, x)
    if name == "ryy":  # Y⊗Y is real: its four nonzero entries are ±1
        yy = torch.tensor([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]],
                          dtype=c.dtype, device=c.device)
        return cc * eye4, -ss * yy
    if name == "rzx":  # Qiskit: RZX(θ) = exp(-iθ/2 Z⊗X) with Z on the gate's first qubit
        return cc * eye4, -ss * _kron(x, z)
    raise KeyError(name)


DENSE_2Q = {"rxx", "ryy", "rzx", "crx", "cry"}
