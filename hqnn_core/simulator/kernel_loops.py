"""The Numba loops of ``kernel``: a planar, batch-minor state vector.

A state is ``planar`` (2, 2**n, B): real and imaginary parts, basis state, sample. Every
inner loop runs over the samples of one or two basis-state rows (contiguous, no dependence
between iterations), which LLVM turns into SIMD code; matrix entries shared by the batch are
scalars. The encoding's columns are ``enc`` (2, n, 1 + De, 2, B): part, qubit, variant (the
column R|0>, then its derivative per angle), amplitude, sample; the layers' matrices ``mats``
(T, n, 1 + Dmax, 2, 2) complex, likewise with their derivatives.
"""

from __future__ import annotations

import numba
import numpy as np

LAYER, PERMUTE = 0, 1
_REDUCE = {"reassoc", "contract", "nsz"}  # lets the gradient sums run as SIMD partial sums


@numba.njit(cache=True, inline="always")
def _rotation(kind: int, c: float, s: float) -> tuple[complex, complex, complex, complex]:
    """R_kind(a) as its four entries (row-major), from c = cos(a / 2) and s = sin(a / 2)."""
    if kind == 0:
        return c + 0j, -1j * s, -1j * s, c + 0j
    if kind == 1:
        return c + 0j, -s + 0j, s + 0j, c + 0j
    return c - 1j * s, 0j, 0j, c + 1j * s


@numba.njit(cache=True)
def _sequence(angles: np.ndarray, kinds: np.ndarray, out: np.ndarray) -> None:
    """The sequence matrix M of rotations ``kinds`` at angles a (D,) and its derivatives:
    out (1 + D, 2, 2), variant 0 is M, variant 1 + d is dM/da_d = ... R_d(a_d + pi) / 2 ...
    (cos and sin of the shifted half angle are -sin and cos of the half angle)."""
    depth = angles.shape[0]
    for v in range(depth + 1):
        a00, a01, a10, a11 = 1 + 0j, 0j, 0j, 1 + 0j
        for d in range(depth):
            c, s = np.cos(0.5 * angles[d]), np.sin(0.5 * angles[d])
            if d == v - 1:
                f00, f01, f10, f11 = _rotation(kinds[d], -0.5 * s, 0.5 * c)
            else:
                f00, f01, f10, f11 = _rotation(kinds[d], c, s)
            a00, a01, a10, a11 = (f00 * a00 + f01 * a10, f00 * a01 + f01 * a11,
                                  f10 * a00 + f11 * a10, f10 * a01 + f11 * a11)
        out[v, 0, 0], out[v, 0, 1], out[v, 1, 0], out[v, 1, 1] = a00, a01, a10, a11


@numba.njit(cache=True, inline="always")
def _rotate(kind: int, c: float, s: float, ar: float, ai: float, br: float, bi: float
            ) -> tuple[float, float, float, float]:
    """R_kind (c = cos(a / 2), s = sin(a / 2)) times the column (a, b), as real parts."""
    if kind == 0:  # rx: [c, -is; -is, c]
        return c * ar + s * bi, c * ai - s * br, s * ai + c * br, c * bi - s * ar
    if kind == 1:  # ry: [c, -s; s, c]
        return c * ar - s * br, c * ai - s * bi, s * ar + c * br, s * ai + c * bi
    return c * ar + s * ai, c * ai - s * ar, c * br - s * bi, c * bi + s * br  # rz


@numba.njit(cache=True)
def _columns(angles: np.ndarray, kinds: np.ndarray, enc: np.ndarray) -> None:
    """Every sample's and qubit's M|0> and its derivatives into ``enc``, for the sequence of
    ``_sequence`` at angles (B, n, D): rotation by rotation, SIMD over the samples (the
    rotation's kind is fixed for the loop over the batch)."""
    batch, n, depth = angles.shape
    cos, sin = np.empty((n, depth, batch), enc.dtype), np.empty((n, depth, batch), enc.dtype)
    dcos, dsin = np.empty_like(cos), np.empty_like(cos)  # of a + pi, halved
    for q in range(n):
        for d in range(depth):
            for b in range(batch):
                half = angles[b, q, d] * np.float32(0.5)  # float32 stays float32
                cos[q, d, b], sin[q, d, b] = np.cos(half), np.sin(half)
                dcos[q, d, b] = sin[q, d, b] * np.float32(-0.5)
                dsin[q, d, b] = cos[q, d, b] * np.float32(0.5)
    for q in range(n):
        for v in range(depth + 1):
            c0r, c0i, c1r, c1i = enc[0, q, v, 0], enc[1, q, v, 0], enc[0, q, v, 1], enc[1, q, v, 1]
            for d in range(depth):
                kind = kinds[d]
                c, s = (dcos[q, d], dsin[q, d]) if d == v - 1 else (cos[q, d], sin[q, d])
                if d == 0:  # R|0>: the first column of R
                    for b in range(batch):
                        c0r[b], c0i[b], c1r[b], c1i[b] = _rotate(kind, c[b], s[b], 1, 0, 0, 0)
                    continue
                for b in range(batch):
                    c0r[b], c0i[b], c1r[b], c1i[b] = _rotate(kind, c[b], s[b], c0r[b], c0i[b],
                                                             c1r[b], c1i[b])


@numba.njit(cache=True)
def _product_state(enc: np.ndarray, planar: np.ndarray) -> None:
    """planar <- the product of every qubit's column (variant 0 of ``enc``)."""
    re, im = planar[0], planar[1]
    re[0].fill(1)
    im[0].fill(0)
    for q in range(enc.shape[1]):
        h = 1 << q
        e0r, e0i, e1r, e1i = enc[0, q, 0, 0], enc[1, q, 0, 0], enc[0, q, 0, 1], enc[1, q, 0, 1]
        for j in range(h - 1, -1, -1):
            xr, xi, yr, yi = re[j], im[j], re[j + h], im[j + h]
            for b in range(re.shape[1]):
                ar, ai = xr[b], xi[b]
                yr[b], yi[b] = ar * e1r[b] - ai * e1i[b], ar * e1i[b] + ai * e1r[b]
                xr[b], xi[b] = ar * e0r[b] - ai * e0i[b], ar * e0i[b] + ai * e0r[b]


@numba.njit(cache=True)
def _apply(planar: np.ndarray, m: np.ndarray, q: int, adjoint: bool) -> None:
    """planar <- (m or m^dagger on qubit q) planar, in place. The rows with bit q clear in
    a block of 2 * 2**q rows are contiguous, and so are their partners: one loop of
    2**q x B amplitudes per block."""
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    if adjoint:
        m00, m01, m10, m11 = np.conj(m00), np.conj(m10), np.conj(m01), np.conj(m11)
    ar, ai, br, bi = m00.real, m00.imag, m01.real, m01.imag
    cr, ci, dr, di = m10.real, m10.imag, m11.real, m11.imag
    re, im = planar[0].reshape(-1), planar[1].reshape(-1)
    span = (1 << q) * planar.shape[2]
    for lo in range(0, re.shape[0], 2 * span):
        r0, i0, r1, i1 = re[lo:lo + span], im[lo:lo + span], re[lo + span:lo + 2 * span], \
            im[lo + span:lo + 2 * span]
        for k in range(span):
            xr, xi, yr, yi = r0[k], i0[k], r1[k], i1[k]
            r0[k] = ar * xr - ai * xi + br * yr - bi * yi
            i0[k] = ar * xi + ai * xr + br * yi + bi * yr
            r1[k] = cr * xr - ci * xi + dr * yr - di * yi
            i1[k] = cr * xi + ci * xr + dr * yi + di * yr


@numba.njit(cache=True, fastmath=_REDUCE)
def _gate_gradient(state: np.ndarray, cot: np.ndarray, q: int) -> np.ndarray:
    """G (2, 2) complex, G[r, c] = sum over samples and the other qubits of
    conj(cot_r) state_c on qubit q (blocks as in ``_apply``)."""
    sr, si = state[0].reshape(-1), state[1].reshape(-1)
    lr, li = cot[0].reshape(-1), cot[1].reshape(-1)
    span = (1 << q) * state.shape[2]
    g00r = g00i = g01r = g01i = g10r = g10i = g11r = g11i = 0.0
    for lo in range(0, sr.shape[0], 2 * span):
        a, b, c = lo, lo + span, lo + 2 * span
        s0r_, s0i_, s1r_, s1i_ = sr[a:b], si[a:b], sr[b:c], si[b:c]
        l0r_, l0i_, l1r_, l1i_ = lr[a:b], li[a:b], lr[b:c], li[b:c]
        for k in range(span):
            s0r, s0i, s1r, s1i = s0r_[k], s0i_[k], s1r_[k], s1i_[k]
            l0r, l0i, l1r, l1i = l0r_[k], l0i_[k], l1r_[k], l1i_[k]
            g00r += l0r * s0r + l0i * s0i
            g00i += l0r * s0i - l0i * s0r
            g01r += l0r * s1r + l0i * s1i
            g01i += l0r * s1i - l0i * s1r
            g10r += l1r * s0r + l1i * s0i
            g10i += l1r * s0i - l1i * s0r
            g11r += l1r * s1r + l1i * s1i
            g11i += l1r * s1i - l1i * s1r
    out = np.empty((2, 2), dtype=np.complex128)
    out[0, 0], out[0, 1] = g00r + 1j * g00i, g01r + 1j * g01i
    out[1, 0], out[1, 1] = g10r + 1j * g10i, g11r + 1j * g11i
    return out


@numba.njit(cache=True)
def _gather(planar: np.ndarray, perm: np.ndarray, out: np.ndarray) -> None:
    """out[:, j] <- planar[:, perm[j]] (both (2, 2**n, B))."""
    for part in range(2):
        rows, dest = planar[part], out[part]
        for j in range(rows.shape[0]):
            src, dst = rows[perm[j]], dest[j]
            for b in range(rows.shape[1]):
                dst[b] = src[b]


@numba.njit(cache=True)
def _affine(x: np.ndarray, w: np.ndarray, const: np.ndarray, a_in: np.ndarray,
            a_w: np.ndarray) -> np.ndarray:
    """Angles (B, R) = const + x @ a_in + w @ a_w for x (B, I), w (W,), a_in (I, R) and
    a_w (W, R)."""
    base = const.copy()
    for k in range(a_w.shape[0]):
        if w[k] != 0:
            for r in range(base.shape[0]):
                base[r] += w[k] * a_w[k, r]
    out = np.empty((x.shape[0], base.shape[0]), dtype=w.dtype)
    for b in range(x.shape[0]):
        for r in range(base.shape[0]):
            out[b, r] = base[r]
        for i in range(a_in.shape[0]):
            if x[b, i] != 0:
                for r in range(base.shape[0]):
                    out[b, r] += x[b, i] * a_in[i, r]
    return out


@numba.njit(cache=True)
def _start_and_spare(fresh: np.ndarray, ops: np.ndarray, work: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The forward's state and its spare (each permutation swaps them): the spare in ``work``
    when it has the state's size, the start chosen so that the final state lands in the
    ``fresh`` array (the backward keeps it); else a fresh spare."""
    if work.shape[0] < fresh.size:
        return fresh, np.empty_like(fresh)
    spare = work[:fresh.size].reshape(fresh.shape)
    flips = 0
    for s in range(ops.shape[0]):
        if ops[s, 0] == PERMUTE:
            flips += 1
    return (spare, fresh) if flips % 2 else (fresh, spare)


@numba.njit(cache=True)
def _sweep_arrays(final: np.ndarray, need_weights: bool, work: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The backward's state (a copy of ``final``, swept back only for the weights), its
    cotangent and their spares: in ``work`` when it has 4 states' room, else allocated."""
    if work.shape[0] < 4 * final.size:
        state = final.copy() if need_weights else final
        return state, np.empty_like(final), np.empty_like(final), np.empty_like(final)
    arrays = work[:4 * final.size].reshape((4,) + final.shape)
    if not need_weights:
        return final, arrays[1], arrays[2], arrays[3]
    source, dest = final.reshape(-1), arrays[0].reshape(-1)
    for i in range(dest.shape[0]):  # a flat loop: numba's arrays[0][:] = final is slower
        dest[i] = source[i]
    return arrays[0], arrays[1], arrays[2], arrays[3]


@numba.njit(cache=True, nogil=True)
def forward_loops(x: np.ndarray, w: np.ndarray, e_const: np.ndarray, e_in: np.ndarray,
                  e_w: np.ndarray, l_const: np.ndarray, l_w: np.ndarray,
                  enc_kinds: np.ndarray, lay_kinds: np.ndarray, lay_depths: np.ndarray,
                  ops: np.ndarray, perms: np.ndarray, index: np.ndarray, value: np.ndarray,
                  n_outputs: int, mats: np.ndarray, state: np.ndarray, work: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs (B, K), the encoding's columns ``enc`` and the final ``planar`` state for
    inputs x (B, I) and weights w (W,), whose angles are the affine maps (const, a_in,
    a_w) ``e_*`` (encoding, (qubit, depth) order) and ``l_*`` (layer instances, (T, n,
    Dmax) order); ``mats`` (complex) is filled for the backward, and ``state`` (B, 2**n)
    with the final state unless it is empty. ``work`` (1-D, w's dtype) holds the
    permutations' spare state when it has the state's size (``SmallKernel.workspace``), else
    it is allocated; the final state returned is always a fresh array (the backward keeps
    it).

    ops (S, 2): (LAYER, t) applies layer instance t, (PERMUTE, p) gathers by perms[p].
    The readout: basis state i adds value[i, j] x its probability to output index[i, j].
    """
    batch, n, depth_e = x.shape[0], mats.shape[1], enc_kinds.shape[0]
    size = 1 << n
    enc_angles = _affine(x, w, e_const, e_in, e_w).reshape(batch, n, depth_e)
    lay_angles = _affine(np.zeros((1, 0), w.dtype), w, l_const,
                         np.zeros((0, l_const.shape[0]), w.dtype), l_w).reshape(
        mats.shape[0], n, lay_kinds.shape[1])
    enc = np.empty((2, n, 1 + depth_e, 2, batch), dtype=w.dtype)
    planar = np.empty((2, size, batch), dtype=w.dtype)
    planar, spare = _start_and_spare(planar, ops, work)
    out = np.empty((batch, n_outputs), dtype=w.dtype)
    _columns(enc_angles, enc_kinds, enc)
    _product_state(enc, planar)
    for t in range(lay_angles.shape[0]):
        depth = lay_depths[t]
        for q in range(n):
            _sequence(lay_angles[t, q, :depth], lay_kinds[t, :depth],
                      mats[t, q, :depth + 1])
    for s in range(ops.shape[0]):
        if ops[s, 0] == LAYER:
            for q in range(n):
                _apply(planar, mats[ops[s, 1], q, 0], q, False)
        else:
            _gather(planar, perms[ops[s, 1]], spare)
            planar, spare = spare, planar
    totals = np.zeros((out.shape[1], batch), dtype=planar.dtype)
    probs = np.empty(batch, dtype=planar.dtype)
    for i in range(size):
        re, im = planar[0, i], planar[1, i]
        for b in range(batch):
            probs[b] = re[b] * re[b] + im[b] * im[b]
        for j in range(index.shape[1]):
            weight, row = value[i, j], totals[index[i, j]]
            if weight != 0:
                for b in range(batch):
                    row[b] += weight * probs[b]
        if state.shape[0]:
            for b in range(batch):
                state[b, i] = re[b] + 1j * im[b]
    for b in range(batch):
        for k in range(out.shape[1]):
            out[b, k] = totals[k, b]
    return out, enc, planar


@numba.njit(cache=True)
def _encoder_gradient(cot: np.ndarray, enc: np.ndarray, enc_grad: np.ndarray) -> None:
    """enc_grad (n, De, B): dL/d(encoding angle) from the cotangent at the product state.

    With h = conj(cot), T_m (h with qubits m..n-1 contracted with their columns, 2**m
    entries) and P_q (the product state of qubits 0..q-1), qubit q's environment is
    env[bit] = sum_j P_q[j] T_{q+1}[j + bit 2**q]. T_m sits at rows 2**m..2**(m+1)-1.
    (Loops and ``fill`` rather than slice assignments, which cost seconds to compile.)"""
    n, batch = enc.shape[1], cot.shape[2]
    size = 1 << n
    tr, ti = np.empty((2 * size, batch), cot.dtype), np.empty((2 * size, batch), cot.dtype)
    for i in range(size):
        for b in range(batch):
            tr[size + i, b], ti[size + i, b] = cot[0, i, b], -cot[1, i, b]
    for q in range(n - 1, 0, -1):  # T_q from T_{q+1}, contracting qubit q
        h = 1 << q
        e0r, e0i, e1r, e1i = enc[0, q, 0, 0], enc[1, q, 0, 0], enc[0, q, 0, 1], enc[1, q, 0, 1]
        for j in range(h):
            xr, xi, yr, yi = tr[2 * h + j], ti[2 * h + j], tr[3 * h + j], ti[3 * h + j]
            zr, zi = tr[h + j], ti[h + j]
            for b in range(batch):
                zr[b] = xr[b] * e0r[b] - xi[b] * e0i[b] + yr[b] * e1r[b] - yi[b] * e1i[b]
                zi[b] = xr[b] * e0i[b] + xi[b] * e0r[b] + yr[b] * e1i[b] + yi[b] * e1r[b]
    pr, pi = np.empty((size, batch), cot.dtype), np.empty((size, batch), cot.dtype)
    pr[0].fill(1)
    pi[0].fill(0)
    env = np.empty((4, batch), cot.dtype)
    for q in range(n):
        h = 1 << q
        env.fill(0)
        e0r, e0i, e1r, e1i = env[0], env[1], env[2], env[3]
        for j in range(h):
            ar, ai = pr[j], pi[j]
            xr, xi, yr, yi = tr[2 * h + j], ti[2 * h + j], tr[3 * h + j], ti[3 * h + j]
            for b in range(batch):
                e0r[b] += ar[b] * xr[b] - ai[b] * xi[b]
                e0i[b] += ar[b] * xi[b] + ai[b] * xr[b]
                e1r[b] += ar[b] * yr[b] - ai[b] * yi[b]
                e1i[b] += ar[b] * yi[b] + ai[b] * yr[b]
        for d in range(enc_grad.shape[1]):
            c0r, c0i, c1r, c1i = (enc[0, q, 1 + d, 0], enc[1, q, 1 + d, 0],
                                  enc[0, q, 1 + d, 1], enc[1, q, 1 + d, 1])
            for b in range(batch):
                enc_grad[q, d, b] = (c0r[b] * e0r[b] - c0i[b] * e0i[b]
                                     + c1r[b] * e1r[b] - c1i[b] * e1i[b])
        c0r, c0i, c1r, c1i = enc[0, q, 0, 0], enc[1, q, 0, 0], enc[0, q, 0, 1], enc[1, q, 0, 1]
        for j in range(h - 1, -1, -1):  # P_{q+1} from P_q
            ar, ai, yr, yi = pr[j], pi[j], pr[j + h], pi[j + h]
            for b in range(batch):
                xr, xi = ar[b], ai[b]
                yr[b], yi[b] = xr * c1r[b] - xi * c1i[b], xr * c1i[b] + xi * c1r[b]
                ar[b], ai[b] = xr * c0r[b] - xi * c0i[b], xr * c0i[b] + xi * c0r[b]


@numba.njit(cache=True, nogil=True)
def backward_loops(grad: np.ndarray, final: np.ndarray, enc: np.ndarray, mats: np.ndarray,
                   lay_depths: np.ndarray, ops: np.ndarray, inverses: np.ndarray,
                   index: np.ndarray, value: np.ndarray, need_inputs: bool,
                   need_weights: bool, e_in: np.ndarray, e_w: np.ndarray, l_w: np.ndarray,
                   work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients (B, I) and (W,) with respect to inputs and weights (zeros where not
    needed) for the output gradient ``grad`` (B, K), from ``forward_loops``' final planar
    state, ``enc`` and ``mats``, with its affine maps ``e_in``, ``e_w`` and ``l_w``. ``work``
    (1-D, the state's dtype) holds the sweep's four state-sized arrays when it has 4 x
    ``final.size`` elements (``SmallKernel.workspace``), else they are allocated."""
    size, batch, n = final.shape[1], final.shape[2], enc.shape[1]
    grad_t = np.empty((grad.shape[1], batch), dtype=final.dtype)  # (K, B)
    for b in range(batch):
        for k in range(grad.shape[1]):
            grad_t[k, b] = grad[b, k]
    enc_grad = np.empty((n, enc.shape[2] - 1, batch), dtype=final.dtype)
    lay_grad = np.zeros(mats.shape[:2] + (mats.shape[2] - 1,), dtype=final.dtype)
    state, cot, spare, cot_spare = _sweep_arrays(final, need_weights, work)
    weights = np.empty(batch, dtype=final.dtype)
    for i in range(size):  # dL = Re <cot, d state>
        weights.fill(0)
        for j in range(index.shape[1]):
            v, row = value[i, j], grad_t[index[i, j]]
            if v != 0:
                for b in range(batch):
                    weights[b] += v * row[b]
        for b in range(batch):
            cot[0, i, b] = (weights[b] + weights[b]) * state[0, i, b]
            cot[1, i, b] = (weights[b] + weights[b]) * state[1, i, b]
    for s in range(ops.shape[0] - 1, -1, -1):
        if ops[s, 0] == PERMUTE:
            if need_weights:
                _gather(state, inverses[ops[s, 1]], spare)
                state, spare = spare, state
            _gather(cot, inverses[ops[s, 1]], cot_spare)
            cot, cot_spare = cot_spare, cot
            continue
        t = ops[s, 1]
        for q in range(n - 1, -1, -1):
            m = mats[t, q]
            if need_weights:
                _apply(state, m[0], q, True)
                g = _gate_gradient(state, cot, q)
                for d in range(lay_depths[t]):
                    dm = m[1 + d]
                    lay_grad[t, q, d] = (dm[0, 0] * g[0, 0] + dm[0, 1] * g[0, 1]
                                         + dm[1, 0] * g[1, 0] + dm[1, 1] * g[1, 1]).real
            _apply(cot, m[0], q, True)
    _encoder_gradient(cot, enc, enc_grad)
    rows = enc_grad.reshape(-1, batch)  # (n * De, B)
    grad_x = np.zeros((batch, e_in.shape[0]), dtype=final.dtype)
    grad_w = np.zeros(l_w.shape[0], dtype=final.dtype)
    for r in range(rows.shape[0]):
        for i in range(e_in.shape[0]):
            if need_inputs and e_in[i, r] != 0:
                for b in range(batch):
                    grad_x[b, i] += rows[r, b] * e_in[i, r]
        if need_weights:
            total = 0.0
            for b in range(batch):
                total += rows[r, b]
            for k in range(e_w.shape[0]):
                grad_w[k] += total * e_w[k, r]
    if need_weights:
        flat = lay_grad.reshape(-1)
        for k in range(l_w.shape[0]):
            for r in range(flat.shape[0]):
                grad_w[k] += flat[r] * l_w[k, r]
    return grad_x, grad_w
