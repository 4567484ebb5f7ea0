"""Compiled loops for small fused circuits: the whole forward, or the whole adjoint backward,
in one call to machine code (Numba).

At a few qubits a training step costs per-operation overhead, not arithmetic: the NumPy fused
path runs a few dozen array operations per call, each costing more than its arithmetic. Here
the circuit of a ``FusedPath`` (a product-state encoding, weight-only rotation layers and
permutations, any Z-basis readout) runs as plain loops over the state vector, one 2x2 matrix
per qubit and layer:

- the state is planar and batch-minor: real and imaginary parts as two (2**n, B) arrays, so
  the innermost loop of every gate runs over the batch on contiguous memory and the compiler
  vectorises it (SIMD lanes over samples; the gate's matrix entries are scalars);
- a rotation sequence ``M = R_{D-1}(a_{D-1}) ... R_0(a_0)`` and its derivatives (``dR/da =
  R(a + pi) / 2`` for rx, ry and rz) are built per qubit;
- the backward is the adjoint method, one pass per gate: the state and the cotangent are
  undone by the adjoint together, and the gate's angles get ``Re sum dM[r, c] G[r, c]`` with
  ``G = sum conj(lambda_r) psi_c``; the encoding's gradient comes from the cotangent at the
  product state, contracted with the other qubits' columns in ``3 * 2**n`` steps a sample.

Compiled on first use and cached on disk (``cache=True``); single-threaded, which is what
these sizes want (see ``threads``), and without the GIL (other Python threads, such as the
studio's server, run meanwhile). ``fused.FusedPath`` uses it for circuits up to
``fused.KERNEL_MAX_QUBITS`` qubits; tests compare it with the NumPy path and the torch engine.
"""

from __future__ import annotations

import numpy as np

from hqnn_core.simulator.kernel_loops import LAYER, PERMUTE, backward_loops, forward_loops

KIND_CODES = {"rx": 0, "ry": 1, "rz": 2}


class KernelTables:
    """What ``SmallKernel.forward`` keeps for the backward: the encoding's columns and the
    layers' matrices, each with all one-angle derivatives, and the final planar state."""

    def __init__(self, enc: np.ndarray, mats: np.ndarray, planar: np.ndarray) -> None:
        self.enc, self.mats, self.planar = enc, mats, planar


Affine = tuple[np.ndarray, np.ndarray, np.ndarray]  # angles = const + x @ a_in.T + w @ a_w.T


def sparse_readout(readout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (2**n, K) readout matrix as, per basis state, the outputs it feeds and the weights
    (padded with weight 0): Z strings feed every output, probabilities one."""
    width = max(1, int((readout != 0).sum(1).max()))
    index = np.zeros((readout.shape[0], width), dtype=np.int64)
    value = np.zeros((readout.shape[0], width))
    for i, row in enumerate(readout):
        (nonzero,) = np.nonzero(row)
        index[i, :len(nonzero)], value[i, :len(nonzero)] = nonzero, row[nonzero]
    return index, value


class SmallKernel:
    """The compiled forward and backward of a fused circuit without re-uploading layers,
    from inputs and weights to outputs and back.

    ``encoder`` holds the encoding's angles in (qubit, depth) order; ``layer_sets`` each
    set's rotation kinds and angles in (position, qubit, depth) order; ``plan`` the steps
    after the encoding, ``("layer", set, position)`` or ``("permute", perm)``; ``readout``
    maps probabilities (B, 2**n) to outputs (B, K) as a (2**n, K) matrix.
    """

    def __init__(self, n_qubits: int, encoder_kinds: tuple[str, ...], encoder: Affine,
                 layer_sets: list[tuple[tuple[str, ...], Affine]], plan: list[tuple],
                 readout: np.ndarray) -> None:
        self.n = n = n_qubits
        self.encoder_kinds = np.array([KIND_CODES[k] for k in encoder_kinds], dtype=np.int64)
        depth_max = max(len(kinds) for kinds, _ in layer_sets)
        ops, perms, rows = [], [], []
        for step in plan:
            if step[0] == "permute":
                ops.append((PERMUTE, len(perms)))
                perms.append(np.asarray(step[1], dtype=np.int64))
            else:
                ops.append((LAYER, len(rows)))
                rows.append(step[1:])
        self.ops = np.array(ops, dtype=np.int64).reshape(-1, 2)
        self.perms = np.array(perms, dtype=np.int64).reshape(-1, 2**n)
        self.inverses = np.argsort(self.perms, axis=1)
        # Every layer instance's angles as one affine map of the weights, (T, n, Dmax) rows.
        e_const, e_in, e_w = encoder
        n_weights = e_w.shape[1]
        self.depths = np.array([len(layer_sets[k][0]) for k, _ in rows], dtype=np.int64)
        self.kinds = np.zeros((len(rows), depth_max), dtype=np.int64)
        const = np.zeros((len(rows), n, depth_max))
        a_w = np.zeros((len(rows), n, depth_max, n_weights))
        for t, (k, position) in enumerate(rows):
            kinds, (set_const, _, set_a_w) = layer_sets[k]
            depth = len(kinds)
            block = slice(position * n * depth, (position + 1) * n * depth)
            self.kinds[t, :depth] = [KIND_CODES[c] for c in kinds]
            const[t, :, :depth] = set_const[block].reshape(n, depth)
            a_w[t, :, :depth] = set_a_w[block].reshape(n, depth, n_weights)
        self.encoder_depth = len(encoder_kinds)
        self.n_outputs = readout.shape[1]
        index, value = sparse_readout(readout)
        self.readout_index = index
        self._maps = {}
        for real in (np.float64, np.float32):
            self._maps[np.dtype(real)] = (
                e_const.astype(real), np.ascontiguousarray(e_in.T, dtype=real),
                np.ascontiguousarray(e_w.T, dtype=real), e_in.astype(real),
                e_w.astype(real), const.reshape(-1).astype(real),
                np.ascontiguousarray(a_w.reshape(-1, n_weights).T, dtype=real),
                a_w.reshape(-1, n_weights).astype(real), value.astype(real))
        self.encoder_uses_weights = bool(np.any(e_w))

    def forward(self, x: np.ndarray, w: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, KernelTables]:
        """Outputs (B, K), the final state (B, 2**n) and the tables for ``backward``."""
        real = w.dtype
        e_const, e_in, e_w, _, _, l_const, l_w, _, value = self._maps[real]
        batch, n = x.shape[0], self.n
        enc_angles = x.astype(real, copy=False) @ e_in + (e_const + w @ e_w)
        lay_angles = (l_const + w @ l_w).reshape(len(self.depths), n, -1)
        cdtype = np.complex64 if real == np.float32 else np.complex128
        enc = np.empty((2, n, 1 + self.encoder_depth, 2, batch), dtype=real)
        mats = np.zeros((len(self.depths), n, 1 + self.kinds.shape[1], 2, 2), dtype=cdtype)
        planar = np.empty((2, 2**n, batch), dtype=real)
        state = np.empty((batch, 2**n), dtype=cdtype)
        out = np.empty((batch, self.n_outputs), dtype=real)
        forward_loops(np.ascontiguousarray(enc_angles.reshape(batch, n, -1)),
                      self.encoder_kinds, lay_angles, self.kinds, self.depths, self.ops,
                      self.perms, self.readout_index, value, enc, mats, planar, state, out)
        return out, state, KernelTables(enc, mats, planar)

    def backward(self, grad: np.ndarray, tables: KernelTables, need_inputs: bool,
                 need_weights: bool) -> tuple[np.ndarray, np.ndarray]:
        """Gradients with respect to the inputs (B, I) and the weights (W,), zeros where
        not needed."""
        real = grad.dtype
        _, _, _, a_in, a_w, _, _, l_w, value = self._maps[real]
        batch = grad.shape[0]
        enc_grad = np.empty((self.n, self.encoder_depth, batch), dtype=real)
        lay_grad = np.empty((len(self.depths), self.n, self.kinds.shape[1]), dtype=real)
        backward_loops(np.ascontiguousarray(grad.T), tables.planar, tables.enc, tables.mats,
                       self.depths, self.ops, self.inverses, self.readout_index, value,
                       need_weights, enc_grad, lay_grad)
        enc_grad = enc_grad.reshape(-1, batch).T  # (B, n * De)
        grad_x = enc_grad @ a_in if need_inputs else np.zeros((batch, a_in.shape[1]), real)
        grad_w = lay_grad.reshape(-1) @ l_w if need_weights else np.zeros(a_w.shape[1], real)
        if need_weights and self.encoder_uses_weights:
            grad_w += enc_grad.sum(0) @ a_w
        return grad_x, grad_w
