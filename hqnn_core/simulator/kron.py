"""Kronecker-block arithmetic of the fused path (NumPy): rotation sequences and their
derivatives as one table product, Kronecker products of per-qubit factors with every
one-factor substitution, and a block applied to / differentiated on a batched state."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# R(a) = cos(a/2) I + sin(a/2) G for these rotations.
GENERATORS = {
    "rx": np.array([[0, -1j], [-1j, 0]]),
    "ry": np.array([[0, -1], [1, 0]], dtype=np.complex128),
    "rz": np.array([[-1j, 0], [0, 1j]]),
}


@lru_cache(maxsize=None)
def rotation_table(kinds: tuple[str, ...]) -> np.ndarray:
    """C (2**D, (1 + D) * 4): the product R_{D-1}...R_0 and its D derivatives, flattened.

    They are ``monomials(angles) @ C`` where monomial k is the product over d of cos(a_d/2)
    (bit d of k clear) or sin(a_d/2) (bit d set).
    """
    depth = len(kinds)
    table = np.zeros((2**depth, 1 + depth, 2, 2), dtype=np.complex128)
    for k in range(2**depth):
        product = np.eye(2, dtype=np.complex128)
        for d, kind in enumerate(kinds):
            if k >> d & 1:
                product = GENERATORS[kind] @ product
        table[k, 0] = product
    for k in range(2**depth):  # d/da (c I + s G) = -s/2 I + c/2 G
        for d in range(depth):
            table[k, 1 + d] = (-0.5 if k >> d & 1 else 0.5) * table[k ^ (1 << d), 0]
    return table.reshape(2**depth, -1)


def monomials(angles: np.ndarray) -> np.ndarray:
    """(..., D) angles -> (..., 2**D) products of their half-angle cosines and sines."""
    half = 0.5 * angles
    factors = np.empty(angles.shape + (1, 2), dtype=angles.dtype)  # one slot, no derivatives
    np.cos(half, out=factors[..., 0, 0])
    np.sin(half, out=factors[..., 0, 1])
    if angles.shape[-1] == 1:
        return factors[..., 0, 0, :]
    return kron_variants(angles.shape[-1], 0, 2)(factors, derivatives=False)[..., 0, :]


class KronVariants:
    """Kronecker products over a group of qubits, and every one-factor substitution of them.

    Factors come as (..., size, 1 + D, F): for every qubit a vector (F = 2) or a row-major
    2x2 matrix (F = 4) in slot 0 and its D derivatives in slots 1..D. The result
    (..., 1 + size * D, M) holds the product in variant 0 and, in variant 1 + q * D + d,
    the product with qubit q's factor replaced by derivative d: the derivative of the
    product. Qubit 0 is the least significant. One gather and size - 1 multiplications.
    """

    def __init__(self, size: int, depth: int, n_entries: int) -> None:
        self.size = size
        m = np.arange(n_entries**size)
        bit = np.arange(size)[:, None]
        if n_entries == 4:
            dim = 2**size
            entry = 2 * (((m // dim)[None] >> bit) & 1) + (((m % dim)[None] >> bit) & 1)
        else:
            entry = (m[None] >> bit) & 1  # (size, M)
        slot = np.zeros((1 + size * depth, size), dtype=np.int64)
        for q in range(size):
            slot[1 + q * depth:1 + (q + 1) * depth, q] = np.arange(1, depth + 1)
        index = ((bit * (1 + depth) + slot[:, :, None]) * n_entries + entry[None])
        # (size, variants * M) and (size, M) for the product alone: qubit rows first
        self.index = np.ascontiguousarray(index.transpose(1, 0, 2)).reshape(size, -1)
        self.product_index = np.ascontiguousarray(index[0])
        self.variants = len(slot)

    def __call__(self, factors: np.ndarray, derivatives: bool = True) -> np.ndarray:
        lead = factors.shape[:-3]
        index = self.index if derivatives else self.product_index
        gathered = np.take(factors.reshape(*lead, -1), index, axis=-1)
        out = gathered[..., 0, :]
        for q in range(1, self.size):  # products of contiguous rows beat a strided reduction
            out = out * gathered[..., q, :]
        return out.reshape(*lead, self.variants if derivatives else 1, -1)


@lru_cache(maxsize=None)
def kron_variants(size: int, depth: int, n_entries: int) -> KronVariants:
    """The shared ``KronVariants`` for a group size, derivative count and factor kind."""
    return KronVariants(size, depth, n_entries)


def apply_block(state: np.ndarray, block: np.ndarray, lo: int, size: int, n: int) -> np.ndarray:
    """(B, 2**n) with a (2**size, 2**size) block, or one per sample (B, 2**size, 2**size),
    applied to qubits lo..lo+size-1."""
    dim = 2**size
    if block.ndim == 3:
        view = state.reshape(len(block), -1, dim, 2**lo)
        return np.matmul(block[:, None], view).reshape(state.shape)
    if lo == 0:
        return (state.reshape(-1, dim) @ block.T).reshape(state.shape)
    view = state.reshape(-1, dim, 2**lo)
    return np.matmul(block, view).reshape(state.shape)


def block_gradient(cotangent: np.ndarray, state: np.ndarray, lo: int, size: int,
                   per_sample: bool = False) -> np.ndarray:
    """G (2**size, 2**size) with G_ij = sum over all other indices of conj(cotangent_i) state_j;
    (B, 2**size, 2**size) summed over all but the batch index if ``per_sample``."""
    dim = 2**size
    if per_sample:
        batch = state.shape[0]
        left = np.moveaxis(cotangent.reshape(batch, -1, dim, 2**lo), 2, 1).reshape(batch, dim, -1)
        right = np.moveaxis(state.reshape(batch, -1, dim, 2**lo), 2, 1).reshape(batch, dim, -1)
        return left.conj() @ right.transpose(0, 2, 1)
    if lo == 0:
        return cotangent.reshape(-1, dim).conj().T @ state.reshape(-1, dim)
    left = np.moveaxis(cotangent.reshape(-1, dim, 2**lo), 1, 0).reshape(dim, -1)
    right = np.moveaxis(state.reshape(-1, dim, 2**lo), 1, 0).reshape(dim, -1)
    return left.conj() @ right.T
