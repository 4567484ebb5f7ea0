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

Compiled on first use and cached on disk (``cache=True``), and run without the GIL (other
Python threads, such as the studio's server, run meanwhile). Each call is single-threaded;
from ``threads.PARALLEL_AMPLITUDES`` per call the batch's chunks run in ``threads_for``
groups at once on worker threads (``threads.in_groups``). ``fused.FusedPath`` uses it for
every fused circuit without re-uploading layers (up to ``fused.KERNEL_MAX_QUBITS`` qubits);
tests compare it with the NumPy path and the torch engine.
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from hqnn_core.simulator.gates import inverse_permutation
from hqnn_core.simulator.kernel_loops import LAYER, PERMUTE, backward_loops, forward_loops
from hqnn_core.simulator.threads import in_groups, threads_for

KIND_CODES = {"rx": 0, "ry": 1, "rz": 2}


# Samples per call of the loops (measured: benchmarks/bench_chunks.py). A whole large batch
# at once runs from memory, up to 2.4x slower a sample at 8 qubits x 1024: a chunk of
# CACHE_AMPLITUDES float32 amplitudes, with the backward's working copies of it, stays in a
# core's L2 cache. Where that leaves fewer than SIMD_CHUNK samples (from 11 qubits) the loops
# over the batch no longer fill the vector lanes, and SIMD_CHUNK samples (at most
# SHARED_CACHE_AMPLITUDES, the shared cache's share, and never fewer than MIN_CHUNK) win.
CACHE_AMPLITUDES = 2**15
SHARED_CACHE_AMPLITUDES = 2**19
SIMD_CHUNK, MIN_CHUNK = 32, 8


def chunk_size(n_qubits: int, batch: int, dtype: np.dtype) -> int:
    """Samples per call of the compiled loops for a batch of ``batch`` on ``n_qubits``
    (half the amplitudes in float64)."""
    shift = n_qubits + (np.dtype(dtype).itemsize // 8)  # float64: one more halving
    chunk = CACHE_AMPLITUDES >> shift
    if chunk < SIMD_CHUNK:
        chunk = max(MIN_CHUNK, min(SIMD_CHUNK, SHARED_CACHE_AMPLITUDES >> shift))
    return max(1, min(batch, chunk))


# Arrays from this size on come from malloc as fresh pages on every call (glibc's default mmap
# threshold): at 16-20 qubits the page faults cost 10-20 % of a step. A kernel keeps such
# scratch arrays per thread between calls (``SmallKernel.workspace``); smaller ones are left
# to the loops, whose allocations the heap serves without faults.
WORKSPACE_BYTES = 2**17
_NO_WORKSPACE = {np.dtype(real): np.empty(0, real) for real in (np.float32, np.float64)}


class KernelTables:
    """What ``SmallKernel.forward`` keeps for the backward: the layers' matrices with all
    one-angle derivatives, and per chunk of the batch (its first sample, the encoding's
    columns, the final planar state)."""

    def __init__(self, mats: np.ndarray, chunks: list[tuple[int, np.ndarray, np.ndarray]]
                 ) -> None:
        self.mats, self.chunks = mats, chunks


Affine = tuple[np.ndarray, np.ndarray, np.ndarray]  # angles = const + x @ a_in.T + w @ a_w.T


def sparse_readout(readout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (2**n, K) readout matrix as, per basis state, the outputs it feeds and the weights
    (padded with weight 0): Z strings feed every output, probabilities one."""
    nonzero = readout != 0
    if readout.shape[1] and nonzero.all():  # every output from every basis state (Z strings)
        index = np.empty(readout.shape, dtype=np.int64)
        index[:] = np.arange(readout.shape[1])
        return index, np.ascontiguousarray(readout)
    rows, columns = np.nonzero(nonzero)  # row by row, columns in order
    counts = np.bincount(rows, minlength=readout.shape[0])
    width = max(1, int(counts.max(initial=0)))
    index = np.zeros((readout.shape[0], width), dtype=np.int64)
    value = np.zeros((readout.shape[0], width), dtype=readout.dtype)
    slot = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    index[rows, slot] = columns
    value[rows, slot] = readout[rows, columns]
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
        depth_max = max((len(kinds) for kinds, _ in layer_sets), default=1)
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
        self.inverses = np.array([inverse_permutation(p) for p in self.perms],
                                 dtype=np.int64).reshape(self.perms.shape)
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
        self.n_outputs = readout.shape[1]
        index, value = sparse_readout(readout)
        self.readout_index = index
        # Per real dtype: the encoding's map (const, x -> , w -> ), the layers' (const, w -> )
        # as (R,), (I, R) and (W, R) arrays, and the readout weights.
        self._maps = {np.dtype(real): tuple(np.ascontiguousarray(a, dtype=real) for a in (
            e_const, e_in.T, e_w.T, const.reshape(-1), a_w.reshape(const.size, n_weights).T, value))
            for real in (np.float64, np.float32)}

        self._work = threading.local()

    def __getstate__(self) -> dict:  # copies and pickles leave the scratch arrays behind
        return {key: value for key, value in self.__dict__.items() if key != "_work"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._work = threading.local()

    def workspace(self, states: int, state_size: int, dtype: np.dtype) -> np.ndarray:
        """Scratch for ``states`` arrays of ``state_size`` elements of ``dtype`` for this
        thread's calls of the loops, kept between calls while the kernel lives (one array per
        thread and dtype, the largest asked for: 256 MiB at 20 qubits in float32); an empty
        array, for which the loops allocate their own, where a state is below
        ``WORKSPACE_BYTES``."""
        dtype = np.dtype(dtype)
        if state_size * dtype.itemsize < WORKSPACE_BYTES:
            return _NO_WORKSPACE[dtype]
        held = self._work.__dict__.setdefault("arrays", {})
        array = held.get(dtype)
        if array is None or array.shape[0] < states * state_size:
            array = held[dtype] = np.empty(states * state_size, dtype=dtype)
        return array

    def maps(self, dtype: np.dtype) -> tuple[np.ndarray, ...]:
        """The loops' maps in ``dtype``: the encoding's (const, x ->, w ->), the layers'
        (const, w ->) and the readout weights (as ``forward_loops`` takes them)."""
        return self._maps[np.dtype(dtype)]

    def forward(self, x: np.ndarray, w: np.ndarray, with_state: bool = True
                ) -> tuple[np.ndarray, np.ndarray | None, KernelTables]:
        """Outputs (B, K), the final state (B, 2**n; None unless ``with_state``) and the
        tables for ``backward``; the loops run over chunks of ``chunk_size`` samples."""
        e_const, e_in, e_w, l_const, l_w, value = self._maps[w.dtype]
        cdtype = np.complex64 if w.dtype == np.float32 else np.complex128
        mats = np.zeros((len(self.depths), self.n, 1 + self.kinds.shape[1], 2, 2), cdtype)
        state = np.empty((x.shape[0], 2**self.n) if with_state else (0, 0), cdtype)
        x = np.ascontiguousarray(x, dtype=w.dtype)
        step = chunk_size(self.n, x.shape[0], w.dtype)
        if x.shape[0] <= step:  # one chunk, in this thread (small circuits: most calls)
            out, enc, planar = forward_loops(
                x, w, e_const, e_in, e_w, l_const, l_w, self.encoder_kinds, self.kinds,
                self.depths, self.ops, self.perms, self.readout_index, value, self.n_outputs,
                mats, state, self.workspace(1, 2 * 2**self.n * x.shape[0], w.dtype))
            return out, state if with_state else None, KernelTables(mats, [(0, enc, planar)])
        starts = range(0, x.shape[0], step)

        def run(group: int, part: Sequence[int]) -> list[tuple]:
            own = mats if group == 0 else np.empty_like(mats)  # the same values, not shared
            work = self.workspace(1, 2 * 2**self.n * step, w.dtype)  # this worker thread's
            return [(start, *forward_loops(
                x[start:start + step], w, e_const, e_in, e_w, l_const, l_w,
                self.encoder_kinds, self.kinds, self.depths, self.ops, self.perms,
                self.readout_index, value, self.n_outputs, own, state[start:start + step],
                work)) for start in part]

        done = in_groups(run, starts, threads_for(self.n, x.shape[0]))
        out = done[0][1] if len(done) == 1 else np.concatenate([d[1] for d in done])
        chunks = [(start, enc, planar) for start, _, enc, planar in done]
        return out, state if with_state else None, KernelTables(mats, chunks)

    def backward(self, grad: np.ndarray, tables: KernelTables, need_inputs: bool,
                 need_weights: bool) -> tuple[np.ndarray, np.ndarray]:
        """Gradients with respect to the inputs (B, I) and the weights (W,), zeros where
        not needed."""
        _, e_in, e_w, _, l_w, value = self._maps[grad.dtype]
        grad = np.ascontiguousarray(grad)
        if len(tables.chunks) == 1:  # one chunk, in this thread
            _, enc, planar = tables.chunks[0]
            return backward_loops(grad, planar, enc, tables.mats, self.depths, self.ops,
                                  self.inverses, self.readout_index, value, need_inputs,
                                  need_weights, e_in, e_w, l_w,
                                  self.workspace(4, planar.size, planar.dtype))

        def run(_: int, part: Sequence[tuple]) -> list[tuple[np.ndarray, np.ndarray]]:
            work = self.workspace(4, part[0][2].size, part[0][2].dtype)  # this worker thread's
            return [backward_loops(grad[start:start + planar.shape[2]], planar, enc, tables.mats,
                                   self.depths, self.ops, self.inverses, self.readout_index,
                                   value, need_inputs, need_weights, e_in, e_w, l_w, work)
                    for start, enc, planar in part]

        parts = in_groups(run, tables.chunks, threads_for(self.n, grad.shape[0]))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([gx for gx, _ in parts]), np.sum([gw for _, gw in parts], axis=0)
