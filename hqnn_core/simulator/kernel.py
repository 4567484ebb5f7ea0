"""Compiled loops for small fused circuits: the whole forward, or the whole adjoint backward,
in one call to machine code (Numba).

At a few qubits a training step costs per-operation overhead, not arithmetic: the NumPy fused
path runs a few dozen array operations per call, each costing more than its arithmetic. Here
the circuit of a ``FusedPath`` (a product-state encoding, weight-only rotation layers and
permutations, any Z-basis readout) runs as plain loops over the state vector, one 2x2 matrix
per qubit and layer:

- a rotation sequence ``M = R_{D-1}(a_{D-1}) ... R_0(a_0)`` and its derivatives (``dR/da =
  R(a + pi) / 2`` for rx, ry and rz) are built per qubit;
- the backward is the adjoint method (each gate undone by its adjoint; the gradient of a
  gate's angles is ``Re sum dM[r, c] G[r, c]`` with ``G = sum conj(lambda_r) psi_c``), and the
  encoding's gradient comes from the cotangent at the product state.

Compiled on first use and cached on disk (``cache=True``); single-threaded, which is what
these sizes want (see ``threads``), and without the GIL (other Python threads, such as the
studio's server, run meanwhile). ``fused.FusedPath`` uses it for circuits up to
``fused.KERNEL_MAX_QUBITS`` qubits; tests compare it with the NumPy path and the torch engine.
"""

from __future__ import annotations

import numba
import numpy as np

KIND_CODES = {"rx": 0, "ry": 1, "rz": 2}
LAYER, PERMUTE = 0, 1


@numba.njit(cache=True, inline="always")
def _rotation(kind: int, c: float, s: float) -> tuple[complex, complex, complex, complex]:
    """R_kind(a) as its four entries (row-major), from c = cos(a / 2) and s = sin(a / 2)."""
    if kind == 0:
        return c + 0j, -1j * s, -1j * s, c + 0j
    if kind == 1:
        return c + 0j, -s + 0j, s + 0j, c + 0j
    return c - 1j * s, 0j, 0j, c + 1j * s


@numba.njit(cache=True)
def _sequence(cos: np.ndarray, sin: np.ndarray, kinds: np.ndarray, out: np.ndarray) -> None:
    """The sequence matrix M of rotations ``kinds`` at angles a (D,), given cos(a / 2) and
    sin(a / 2), and its derivatives: out (1 + D, 2, 2), variant 0 is M, variant 1 + d is
    dM/da_d = ... R_d(a_d + pi) / 2 ... (cos and sin of the shifted half angle are -sin and
    cos of the half angle)."""
    depth = cos.shape[0]
    for v in range(depth + 1):
        a00, a01, a10, a11 = 1 + 0j, 0j, 0j, 1 + 0j
        for d in range(depth):
            if d == v - 1:
                f00, f01, f10, f11 = _rotation(kinds[d], -0.5 * sin[d], 0.5 * cos[d])
            else:
                f00, f01, f10, f11 = _rotation(kinds[d], cos[d], sin[d])
            a00, a01, a10, a11 = (f00 * a00 + f01 * a10, f00 * a01 + f01 * a11,
                                  f10 * a00 + f11 * a10, f10 * a01 + f11 * a11)
        out[v, 0, 0], out[v, 0, 1], out[v, 1, 0], out[v, 1, 1] = a00, a01, a10, a11


@numba.njit(cache=True)
def _column(cos: np.ndarray, sin: np.ndarray, kinds: np.ndarray, out: np.ndarray) -> None:
    """M|0> and its derivatives for the sequence of ``_sequence``: out (1 + D, 2)."""
    depth = cos.shape[0]
    for v in range(depth + 1):
        c0, c1 = 1 + 0j, 0j
        for d in range(depth):
            if d == v - 1:
                f00, f01, f10, f11 = _rotation(kinds[d], -0.5 * sin[d], 0.5 * cos[d])
            else:
                f00, f01, f10, f11 = _rotation(kinds[d], cos[d], sin[d])
            c0, c1 = f00 * c0 + f01 * c1, f10 * c0 + f11 * c1
        out[v, 0], out[v, 1] = c0, c1


@numba.njit(cache=True)
def _apply(state: np.ndarray, m: np.ndarray, q: int, adjoint: bool) -> None:
    """state (B, 2**n) <- (m or m^dagger on qubit q) state, in place."""
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    if adjoint:
        m00, m01, m10, m11 = np.conj(m00), np.conj(m10), np.conj(m01), np.conj(m11)
    size, stride = state.shape[1], 1 << q
    for b in range(state.shape[0]):
        for block in range(0, size, 2 * stride):
            for i in range(block, block + stride):
                a0, a1 = state[b, i], state[b, i + stride]
                state[b, i] = m00 * a0 + m01 * a1
                state[b, i + stride] = m10 * a0 + m11 * a1


@numba.njit(cache=True)
def _gather(state: np.ndarray, perm: np.ndarray, buffer: np.ndarray) -> None:
    """state[:, j] <- state[:, perm[j]] (through ``buffer``)."""
    for b in range(state.shape[0]):
        for j in range(state.shape[1]):
            buffer[b, j] = state[b, perm[j]]
        state[b] = buffer[b]


@numba.njit(cache=True, nogil=True)
def forward(enc_angles: np.ndarray, enc_kinds: np.ndarray, lay_angles: np.ndarray,
            lay_kinds: np.ndarray, lay_depths: np.ndarray, ops: np.ndarray, perms: np.ndarray,
            readout: np.ndarray, enc: np.ndarray, mats: np.ndarray, state: np.ndarray,
            buffer: np.ndarray, out: np.ndarray) -> None:
    """Outputs ``out`` (B, K) and the final ``state`` (B, 2**n); ``enc`` (B, n, 1 + De, 2)
    and ``mats`` (T, n, 1 + Dmax, 2, 2) are filled for the backward.

    ops (S, 2): (LAYER, t) applies layer instance t, (PERMUTE, p) gathers by perms[p].
    """
    batch, n = enc_angles.shape[0], enc_angles.shape[1]
    cos, sin = np.cos(enc_angles / 2), np.sin(enc_angles / 2)
    for b in range(batch):
        for q in range(n):
            _column(cos[b, q], sin[b, q], enc_kinds, enc[b, q])
    for b in range(batch):
        for i in range(state.shape[1]):
            amp = enc[b, 0, 0, i & 1]
            for q in range(1, n):
                amp *= enc[b, q, 0, (i >> q) & 1]
            state[b, i] = amp
    cos, sin = np.cos(lay_angles / 2), np.sin(lay_angles / 2)
    for t in range(lay_angles.shape[0]):
        depth = lay_depths[t]
        for q in range(n):
            _sequence(cos[t, q, :depth], sin[t, q, :depth], lay_kinds[t, :depth],
                      mats[t, q, :depth + 1])
    for s in range(ops.shape[0]):
        if ops[s, 0] == LAYER:
            for q in range(n):
                _apply(state, mats[ops[s, 1], q, 0], q, False)
        else:
            _gather(state, perms[ops[s, 1]], buffer)
    for b in range(batch):
        for k in range(out.shape[1]):
            out[b, k] = 0
        for i in range(state.shape[1]):
            p = state[b, i].real ** 2 + state[b, i].imag ** 2
            for k in range(out.shape[1]):
                out[b, k] += p * readout[i, k]


@numba.njit(cache=True, nogil=True)
def backward(grad: np.ndarray, final: np.ndarray, enc: np.ndarray, mats: np.ndarray,
             lay_depths: np.ndarray, ops: np.ndarray, inverses: np.ndarray, readout: np.ndarray,
             need_layers: bool, enc_grad: np.ndarray, lay_grad: np.ndarray) -> None:
    """Gradients for the output gradient ``grad`` (B, K): ``enc_grad`` (B, n, De) with
    respect to the encoding angles, ``lay_grad`` (T, n, Dmax) to the layers' angles (if
    ``need_layers``), from ``forward``'s final state, ``enc`` and ``mats``."""
    batch, size = final.shape
    n = enc.shape[1]
    state = final.copy()
    cot = np.empty_like(final)
    buffer = np.empty_like(final)
    for b in range(batch):
        for i in range(size):
            g = 0.0
            for k in range(grad.shape[1]):
                g += grad[b, k] * readout[i, k]
            cot[b, i] = 2 * g * state[b, i]  # dL = Re <cot, d state>
    lay_grad[:] = 0
    for s in range(ops.shape[0] - 1, -1, -1):
        if ops[s, 0] == PERMUTE:
            _gather(state, inverses[ops[s, 1]], buffer)
            _gather(cot, inverses[ops[s, 1]], buffer)
            continue
        t = ops[s, 1]
        for q in range(n - 1, -1, -1):
            m = mats[t, q]
            _apply(state, m[0], q, True)
            if need_layers:
                g00 = g01 = g10 = g11 = 0j
                stride = 1 << q
                for b in range(batch):
                    for block in range(0, size, 2 * stride):
                        for i in range(block, block + stride):
                            l0, l1 = np.conj(cot[b, i]), np.conj(cot[b, i + stride])
                            s0, s1 = state[b, i], state[b, i + stride]
                            g00 += l0 * s0
                            g01 += l0 * s1
                            g10 += l1 * s0
                            g11 += l1 * s1
                for d in range(lay_depths[t]):
                    dm = m[1 + d]
                    lay_grad[t, q, d] = (dm[0, 0] * g00 + dm[0, 1] * g01 + dm[1, 0] * g10
                                         + dm[1, 1] * g11).real
            _apply(cot, m[0], q, True)
    for b in range(batch):
        for q in range(n):
            env0 = env1 = 0j
            for i in range(size):
                amp = np.conj(cot[b, i])
                for r in range(n):
                    if r != q:
                        amp *= enc[b, r, 0, (i >> r) & 1]
                if (i >> q) & 1:
                    env1 += amp
                else:
                    env0 += amp
            for d in range(enc_grad.shape[2]):
                enc_grad[b, q, d] = (enc[b, q, 1 + d, 0] * env0 + enc[b, q, 1 + d, 1] * env1).real


class KernelTables:
    """What ``SmallKernel.forward`` keeps for the backward: the encoding's columns and the
    layers' matrices, each with all one-angle derivatives."""

    def __init__(self, enc: np.ndarray, mats: np.ndarray) -> None:
        self.enc, self.mats = enc, mats


Affine = tuple[np.ndarray, np.ndarray, np.ndarray]  # angles = const + x @ a_in.T + w @ a_w.T


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
        self._maps = {}
        for real in (np.float64, np.float32):
            self._maps[np.dtype(real)] = (
                e_const.astype(real), np.ascontiguousarray(e_in.T, dtype=real),
                np.ascontiguousarray(e_w.T, dtype=real), e_in.astype(real),
                e_w.astype(real), const.reshape(-1).astype(real),
                np.ascontiguousarray(a_w.reshape(-1, n_weights).T, dtype=real),
                a_w.reshape(-1, n_weights).astype(real),
                np.ascontiguousarray(readout, dtype=real))
        self.encoder_uses_weights = bool(np.any(e_w))

    def forward(self, x: np.ndarray, w: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, KernelTables]:
        """Outputs (B, K), the final state (B, 2**n) and the tables for ``backward``."""
        real = w.dtype
        e_const, e_in, e_w, _, _, l_const, l_w, _, readout = self._maps[real]
        batch, n = x.shape[0], self.n
        enc_angles = x.astype(real, copy=False) @ e_in + (e_const + w @ e_w)
        lay_angles = (l_const + w @ l_w).reshape(len(self.depths), n, -1)
        cdtype = np.complex64 if real == np.float32 else np.complex128
        enc = np.empty((batch, n, 1 + self.encoder_depth, 2), dtype=cdtype)
        mats = np.zeros((len(self.depths), n, 1 + self.kinds.shape[1], 2, 2), dtype=cdtype)
        state = np.empty((batch, 2**n), dtype=cdtype)
        out = np.empty((batch, readout.shape[1]), dtype=real)
        forward(enc_angles.reshape(batch, n, -1), self.encoder_kinds, lay_angles, self.kinds,
                self.depths, self.ops, self.perms, readout, enc, mats, state,
                np.empty_like(state), out)
        return out, state, KernelTables(enc, mats)

    def backward(self, grad: np.ndarray, final: np.ndarray, tables: KernelTables,
                 need_inputs: bool, need_weights: bool) -> tuple[np.ndarray, np.ndarray]:
        """Gradients with respect to the inputs (B, I) and the weights (W,), zeros where
        not needed."""
        real = grad.dtype
        _, _, _, a_in, a_w, _, _, l_w, readout = self._maps[real]
        batch = grad.shape[0]
        enc_grad = np.empty((batch, self.n, self.encoder_depth), dtype=real)
        lay_grad = np.empty((len(self.depths), self.n, self.kinds.shape[1]), dtype=real)
        backward(np.ascontiguousarray(grad), final, tables.enc, tables.mats, self.depths,
                 self.ops, self.inverses, readout, need_weights, enc_grad, lay_grad)
        enc_grad = enc_grad.reshape(batch, -1)
        grad_x = enc_grad @ a_in if need_inputs else np.zeros((batch, a_in.shape[1]), real)
        grad_w = lay_grad.reshape(-1) @ l_w if need_weights else np.zeros(a_w.shape[1], real)
        if need_weights and self.encoder_uses_weights:
            grad_w += enc_grad.sum(0) @ a_w
        return grad_x, grad_w
