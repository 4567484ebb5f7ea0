"""The fast path for the most common circuit shape: one NumPy forward, one adjoint backward.

Shape: a product-state encoding (the same sequence of rx/ry/rz rotations on every qubit,
angles affine in the inputs and weights) followed by rotation layers (one rotation sequence
on every qubit; weight-only, or also reading the inputs as in data re-uploading) and
CNOT-type permutations, read out in the Z basis, on the CPU: at most ``KERNEL_MAX_QUBITS``
qubits without re-uploading layers (they run in ``kernel``'s compiled loops), at most
``MAX_QUBITS`` with them.

At these sizes a training step costs per-operation overhead, not arithmetic, so the whole
layer (angles, states, readout and all gradients) is one autograd Function whose forward
and backward run a few dozen NumPy operations (complex64 for float32 layers, complex128
for float64) and cross into torch once each way:

- (``kron``) a rotation sequence R_{D-1}(a_{D-1})...R_0(a_0) is multilinear in the half-angle
  cosines and sines, so its 2x2 matrix and all D derivatives are one product of the
  ``2**D`` monomials with a constant table (``rotation_table``);
- a Kronecker block of up to four qubits, and its derivative with respect to every angle
  of those qubits, is one gather and a few multiplications (``KronVariants``); blocks act
  on the batched state as small matrix products, permutations as column gathers;
- gradients come from the adjoint method: the final state and the cotangent are swept
  back together (each block undone by its adjoint, so the forward keeps no intermediate
  states), each block's gradient ``G = sum_b conj(lambda_b) s_b^T`` is contracted with the
  block's derivatives, and the encoding's gradient comes from the cotangent at the product
  state.

``fused_op`` registers forward and backward as torch operators (so ``torch.compile`` traces
through the layer). The autograd path in ``engine.py`` stays the reference: tests compare
the two (1e-12 in float64), and second derivatives are taken through it.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

if TYPE_CHECKING:
    from hqnn_core.simulator.kernel import SmallKernel

from hqnn_core.simulator.compile import CompiledCircuit, LocalStep, PermStep
from hqnn_core.simulator.expressions import ParsedAngles
from hqnn_core.simulator.gates import inverse_permutation
from hqnn_core.simulator.kron import (GENERATORS, apply_block, block_gradient, kron_variants,
                                      monomials, rotation_table)
from hqnn_core.simulator.layout import qubit_groups, uniform_sequence

MAX_QUBITS = 12  # the NumPy path (re-uploading layers)
KERNEL_MAX_QUBITS = 20  # the compiled kernel (no re-uploading): 2.0-3.8x the one-thread
# torch engine at 13-16 qubits (batch 16-64, layer forward + backward, one process alternating);
# with its chunks on two threads, training at 18 / 20 qubits x 32 took 63.8 / 10.3 samples/s
# against the two-thread engine's 26.6 / 3.5 (plain eager loop, quiet 2-core machine).
# Circuits without re-uploading layers run through the compiled loops of ``kernel`` (SIMD
# over the batch): faster than the NumPy path's BLAS blocks at every size and batch it was
# measured at, 2-12 qubits x batch 1-256 (benchmarks/bench_kernel.py: 1.7-3.8x, parity at
# 12 qubits x batch 1). The NumPy path remains for re-uploading layers.
# The kernel (one thread) beats the torch engine at every batch measured, also where the
# engine gets threads: 1.9-7x at 4-12 qubits x batch 128-8192; 1.8-3.5x against its one or two
# threads at 2**21-2**23 amplitudes (14x128 .. 16x128, 12x1024, 8x16384; noisy machine), and
# with the batch in cache-sized chunks 3.2-9.5x its two threads at 2**23-2**24 (16x128,
# 16x256, 12x4096, 8x65536; loaded machine). With the chunks on two threads (from 2**21
# amplitudes per call), training at 2**25-2**26 amplitudes ran 2.9-4.2x the two-thread engine
# (16x512, 12x8192, 16x1024; quiet machine, plain eager loop), so kernel circuits take the
# fused path up to KERNEL_MAX_AMPLITUDES per call (beyond, unmeasured). Without the kernel
# (re-uploading), beyond these the torch engine is faster. Measured on 2 cores: the NumPy
# path wins up to batch 1024 at 4-6 qubits and up to batch x 2**n x rotation layers of
# about 5e5 at 8-12 qubits (1.2-1.3x there), and loses by 2x at batch 8192 x 4 qubits.
KERNEL_MAX_AMPLITUDES = 2**26  # batch x 2**n
MAX_BATCH = 1024
MAX_WORK = 2**19
# Re-uploading layers build every sample's block derivatives: the fused path wins at batch
# 32 (2.2x at 4 qubits, 1.75x at 8) and loses from about batch 100 (0.6x at 4 qubits, 256).
MAX_BATCH_REUPLOADING = 64
_COMPLEX = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}
PATHS: "weakref.WeakValueDictionary[str, FusedPath]" = weakref.WeakValueDictionary()
_KEYS = itertools.count()


def _precisions(array: np.ndarray) -> dict[np.dtype, np.ndarray]:
    """A constant in both precisions, keyed by the real dtype of the call (float32 layers
    compute in complex64 like the torch engine, float64 layers in complex128)."""
    single = np.complex64 if np.iscomplexobj(array) else np.float32
    return {np.dtype(np.float64): array, np.dtype(np.float32): array.astype(single)}


def rotation_sequence(step: LocalStep, n_qubits: int) -> tuple[str, ...] | None:
    """The rotation kinds every qubit of ``step`` runs, if they are the same parameterized
    rx/ry/rz sequence on all qubits; else None."""
    kinds = uniform_sequence([step], n_qubits)
    return kinds if kinds and all(k in GENERATORS for k in kinds) else None


@dataclass(frozen=True)
class Permute:
    """A permutation step: state columns gathered by ``perm``; undone by ``inverse``."""

    perm: np.ndarray
    inverse: np.ndarray


@dataclass(frozen=True)
class ApplyLayer:
    """A rotation layer: layer ``position`` of layer set ``layer_set``."""

    layer_set: int
    position: int


def fused_plan(compiled: CompiledCircuit, n_steps: int) -> list[object] | None:
    """The steps after the encoding if the fused path applies, else None."""
    steps, n = compiled.steps[:n_steps], compiled.n_qubits
    reuploading = any(isinstance(s, LocalStep) and s.batched for s in steps[1:])
    if n > (MAX_QUBITS if reuploading else KERNEL_MAX_QUBITS) or not steps:
        return None
    first, rest = steps[0], steps[1:]
    if not (isinstance(first, LocalStep) and first.batched and rotation_sequence(first, n)):
        return None
    for step in rest:
        if isinstance(step, PermStep):
            continue
        if not (isinstance(step, LocalStep) and rotation_sequence(step, n)):
            return None
    rows = [row for s in [first, *rest] if isinstance(s, LocalStep) for row in _rows(s, n)]
    if np.any(compiled.angles.quad_d[rows]):
        return None
    return rest


def _rows(step: LocalStep, n_qubits: int) -> list[int]:
    """Angle rows of a uniform step in (qubit, depth) order."""
    return [g.row for q in range(n_qubits) for g in step.gates[q]]


class _Angles:
    """Gate angles affine in inputs x and weights w: ``const + x @ a_in.T + w @ a_w.T``."""

    def __init__(self, parsed: ParsedAngles, rows: list[int]) -> None:
        self.const = _precisions(parsed.const[rows])
        self.a_in = _precisions(parsed.a_in[rows])
        self.a_w = _precisions(parsed.a_w[rows])
        self.uses_inputs = bool(np.any(parsed.a_in[rows]))
        self.uses_weights = bool(np.any(parsed.a_w[rows]))
        self.has_const = bool(np.any(parsed.const[rows])) or not (self.uses_inputs
                                                                 or self.uses_weights)

    def affine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(const, a_in, a_w) in float64, for the compiled kernel."""
        real = np.dtype(np.float64)
        return self.const[real], self.a_in[real], self.a_w[real]

    def __call__(self, x: np.ndarray | None, w: np.ndarray) -> np.ndarray:
        out = self.const[w.dtype] if self.has_const else 0
        if self.uses_weights:
            out = out + w @ self.a_w[w.dtype].T
        if self.uses_inputs and x is not None:
            out = out + x @ self.a_in[w.dtype].T
        return out


class _LayerSet:
    """Rotation layers after the encoding that run the same sequence, handled together:
    weight-only layers (L of them), or one layer that also reads the inputs (``batched``,
    as in data re-uploading), whose matrices differ per sample."""

    def __init__(self, parsed: ParsedAngles, steps: list[LocalStep], kinds: tuple[str, ...],
                 n_qubits: int, batched: bool) -> None:
        self.depth, self.n, self.batched, self.kinds = len(kinds), n_qubits, batched, kinds
        self.table = _precisions(rotation_table(kinds))
        self.angles = _Angles(parsed, [r for s in steps for r in _rows(s, n_qubits)])
        self.count = len(steps)

    def matrices(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(L or B, n, 1 + D, 4): each qubit's row-major 2x2 matrix and its derivatives."""
        lead = x.shape[0] if self.batched else self.count
        angles = self.angles(x if self.batched else None, w).reshape(lead, self.n, self.depth)
        terms = monomials(angles).astype(_COMPLEX[w.dtype])
        return (terms @ self.table[w.dtype]).reshape(lead, self.n, 1 + self.depth, 4)


@dataclass
class Tables:
    """A forward pass's Kronecker tables: the encoding per group, and per layer set and
    group the blocks; ``derivatives`` if they hold all one-angle derivatives too, and then
    ``states``, the state before each block (without them the backward undoes each block)."""

    encoded: list[np.ndarray]
    layers: list[list[np.ndarray]]
    derivatives: bool
    states: list[np.ndarray]


class FusedPath:
    """Outputs and gradients of ``fused_plan``-compatible circuits in NumPy.

    ``readout`` maps probabilities (B, 2**n) to outputs: a matrix (2**n, K) for Z-string
    expectations, or an index array for probabilities in readout order. ``reference`` is
    the torch engine's map (inputs, weights) -> outputs (for second derivatives).
    ``op_key`` names the path in ``PATHS`` for the operators of ``fused_op``; a copy gets
    a key of its own.
    """

    def __init__(self, compiled: CompiledCircuit, rest: list[object], readout: np.ndarray,
                 readout_is_index: bool,
                 reference: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.reference = reference
        self._register()
        n = self.n = compiled.n_qubits
        self.groups = qubit_groups(n)
        first = compiled.steps[0]
        assert isinstance(first, LocalStep)
        kinds = rotation_sequence(first, n)
        assert kinds is not None
        self.encoder_depth = depth = len(kinds)
        self.encoder_angles = _Angles(compiled.angles, _rows(first, n))
        self.encoder_table = _precisions(rotation_table(kinds).reshape(2**depth, 1 + depth, 4)[
            :, :, [0, 2]].reshape(2**depth, -1))  # column 0 of each matrix: R|0>
        self.encoder_kron = {size: kron_variants(size, depth, 2) for _, size in self.groups}
        # Weight-only layers with the same sequence share a set; an input-dependent layer
        # has its own. Layers are named by position in their set, not by object identity,
        # so that copies of a layer work too.
        sets: dict[object, list[LocalStep]] = {}
        self.plan: list[Permute | ApplyLayer] = []
        for t, step in enumerate(rest):
            if isinstance(step, PermStep):
                self.plan.append(Permute(step.perm, inverse_permutation(step.perm)))
                continue
            key = ("batched", t) if step.batched else rotation_sequence(step, n)
            members = sets.setdefault(key, [])
            self.plan.append(ApplyLayer(list(sets).index(key), len(members)))
            members.append(step)
        self.layer_sets = [_LayerSet(compiled.angles, steps, rotation_sequence(steps[0], n),
                                     n, steps[0].batched)  # type: ignore[arg-type]
                           for steps in sets.values()]
        self.layer_kron = [{size: kron_variants(size, ls.depth, 4) for _, size in self.groups}
                           for ls in self.layer_sets]
        self.readout_is_index = readout_is_index
        self.readout = readout if readout_is_index else _precisions(readout)
        self.readout_inverse = inverse_permutation(readout) if readout_is_index else None
        self.n_outputs = len(readout) if readout_is_index else readout.shape[1]
        self.n_weights = compiled.angles.a_w.shape[1]
        self.work_per_sample = 2**n * max(1, sum(isinstance(s, LocalStep) for s in rest))
        self.max_batch = MAX_BATCH_REUPLOADING if any(ls.batched for ls in self.layer_sets) \
            else MAX_BATCH
        self.kernel = self._small_kernel(kinds, readout)

    def _small_kernel(self, encoder_kinds: tuple[str, ...], readout: np.ndarray
                      ) -> "SmallKernel | None":
        """The compiled loops of ``kernel``, for circuits without re-uploading layers."""
        if any(ls.batched for ls in self.layer_sets):
            return None
        from hqnn_core.simulator.kernel import SmallKernel  # Numba, imported when needed
        if self.readout_is_index:
            matrix = np.zeros((2**self.n, len(readout)))
            matrix[readout, np.arange(len(readout))] = 1.0
            readout = matrix
        plan = [("permute", step.perm) if isinstance(step, Permute)
                else ("layer", step.layer_set, step.position) for step in self.plan]
        return SmallKernel(self.n, encoder_kinds, self.encoder_angles.affine(),
                           [(ls.kinds, ls.angles.affine()) for ls in self.layer_sets], plan,
                           readout)

    def _register(self) -> None:
        self.op_key = f"fused-{next(_KEYS)}"
        PATHS[self.op_key] = self

    def __setstate__(self, state: dict) -> None:  # copies and unpickled layers
        self.__dict__.update(state)
        self._register()

    def applies_to(self, inputs: torch.Tensor) -> bool:
        """The fused path runs on the CPU for batches small enough that it is the faster
        path."""
        batch = inputs.shape[0]
        if inputs.device.type != "cpu":
            return False
        if self.kernel is not None:
            return self.runs_kernel(batch)
        return batch <= self.max_batch and batch * self.work_per_sample <= MAX_WORK

    def runs_kernel(self, batch: int) -> bool:
        """Whether a CPU call on ``batch`` samples runs in the compiled kernel."""
        return self.kernel is not None and batch * 2**self.n <= KERNEL_MAX_AMPLITUDES

    def forward(self, x: np.ndarray, w: np.ndarray, derivatives: bool = False,
                with_state: bool = True) -> tuple[np.ndarray, np.ndarray | None, Tables]:
        """Outputs (B, K) and the final state (B, 2**n) for inputs (B, I) and weights (W,),
        and the encoding's and layers' Kronecker tables (with all derivatives if asked:
        ``backward`` can then reuse them). The kernel returns no state unless
        ``with_state`` (its tables hold what its backward needs)."""
        if self.kernel is not None:
            return self.kernel.forward(x, w, with_state)  # type: ignore[return-value]
        encoded = self._product_state(x, w, derivatives)
        state = encoded[0][:, 0]
        for part in encoded[1:]:
            state = (part[:, 0, :, None] * state[:, None, :]).reshape(x.shape[0], -1)
        layers = self._layers(x, w, derivatives)
        states: list[np.ndarray] = []  # before each block, for the backward (if derivatives)
        for step in self.plan:
            if isinstance(step, Permute):
                state = np.take(state, step.perm, axis=1)
                continue
            for g, (lo, size) in enumerate(self.groups):
                if derivatives:
                    states.append(state)
                state = apply_block(state, self._block(layers, step, g), lo, size, self.n)
        probs = state.real**2 + state.imag**2
        out = np.take(probs, self.readout, axis=1) if self.readout_is_index \
            else probs @ self.readout[probs.dtype]
        return out, state, Tables(encoded, layers, derivatives, states)

    def backward(self, x: np.ndarray, w: np.ndarray, final: np.ndarray | None, grad: np.ndarray,
                 need_inputs: bool, need_weights: bool,
                 tables: Tables | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Gradients with respect to the circuit inputs (B, I) and the weights (W,) (zeros
        where not needed), for the output gradient ``grad`` (B, K); ``tables`` from a
        forward with derivatives, else they are rebuilt (``final``, the forward's state,
        is not needed by the kernel)."""
        dtype, batch = grad.dtype, grad.shape[0]
        if self.kernel is not None:
            if tables is None:  # the operators' backward keeps no tables
                _, _, tables = self.kernel.forward(x, w, with_state=False)
            return self.kernel.backward(grad, tables, need_inputs,  # type: ignore[arg-type]
                                        need_weights)
        grad_probs = np.take(grad, self.readout_inverse, axis=1) if self.readout_is_index \
            else grad @ self.readout[grad.dtype].T
        state = final
        cotangent = 2 * grad_probs * state  # dL = Re <cotangent, d state>
        if tables is None or not tables.derivatives:
            tables = Tables(self._product_state(x, w, True), self._layers(x, w, True), True, [])
        encoded, layers, states = tables.encoded, tables.layers, list(tables.states)
        layer_grads = [np.zeros((batch if ls.batched else ls.count, self.n, ls.depth), dtype=dtype)
                       for ls in self.layer_sets]
        for step in reversed(self.plan):
            if isinstance(step, Permute):
                state = state if states else np.take(state, step.inverse, axis=1)
                cotangent = np.take(cotangent, step.inverse, axis=1)
                continue
            k, i = step.layer_set, step.position
            batched = self.layer_sets[k].batched
            for g in range(len(self.groups) - 1, -1, -1):
                lo, size = self.groups[g]
                adjoint = np.swapaxes(self._block(layers, step, g), -1, -2).conj()
                state = states.pop() if states else apply_block(state, adjoint, lo, size, self.n)
                if batched and (need_inputs or need_weights):
                    gradient = block_gradient(cotangent, state, lo, size, per_sample=True)
                    per_angle = (layers[k][g][:, 1:] @ gradient.reshape(batch, -1, 1)).real
                    layer_grads[k][:, lo:lo + size] = per_angle.reshape(batch, size, -1)
                elif need_weights:
                    gradient = block_gradient(cotangent, state, lo, size).ravel()
                    per_angle = (layers[k][g][i, 1:] @ gradient).real
                    layer_grads[k][i, lo:lo + size] = per_angle.reshape(size, -1)
                cotangent = apply_block(cotangent, adjoint, lo, size, self.n)
        encoder_grad = self._encoder_gradient(encoded, cotangent)  # (B, n * D)
        return self._parameter_gradients(x, encoder_grad, layer_grads, need_inputs,
                                         need_weights, dtype)

    def _parameter_gradients(self, x: np.ndarray, encoder_grad: np.ndarray,
                             layer_grads: list[np.ndarray], need_inputs: bool,
                             need_weights: bool, dtype: np.dtype
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Gradients for inputs (B, I) and weights (W,) from the angles' gradients: the
        encoding's (B, n * D) and each layer set's (L or B, n, D)."""
        grad_x = encoder_grad @ self.encoder_angles.a_in[dtype] if need_inputs \
            else np.zeros(x.shape, dtype=dtype)
        grad_w = np.zeros(self.n_weights, dtype=dtype)
        if need_weights and self.encoder_angles.uses_weights:
            grad_w += encoder_grad.sum(0) @ self.encoder_angles.a_w[dtype]
        for ls, layer_grad in zip(self.layer_sets, layer_grads):
            per_sample = layer_grad.reshape(layer_grad.shape[0], -1)
            if ls.batched and need_inputs and ls.angles.uses_inputs:
                grad_x += per_sample @ ls.angles.a_in[dtype]
            if need_weights and ls.angles.uses_weights:
                grad_w += (per_sample.sum(0) if ls.batched else layer_grad.ravel()) @ \
                    ls.angles.a_w[dtype]
        return grad_x, grad_w

    def _product_state(self, x: np.ndarray, w: np.ndarray,
                       derivatives: bool) -> list[np.ndarray]:
        """The encoded product state per qubit group (B, variants, 2**size); with all its
        derivatives if asked."""
        batch, n, depth = x.shape[0], self.n, self.encoder_depth
        angles = self.encoder_angles(x, w).reshape(batch, n, depth)
        terms = monomials(angles).astype(_COMPLEX[w.dtype])
        columns = (terms @ self.encoder_table[w.dtype]).reshape(batch, n, 1 + depth, 2)
        return [self.encoder_kron[size](columns[:, lo:lo + size], derivatives)
                for lo, size in self.groups]

    def _layers(self, x: np.ndarray, w: np.ndarray, derivatives: bool) -> list[list[np.ndarray]]:
        """Per layer set and group: the blocks (L or B, variants, 4**size)."""
        out = []
        for ls, krons in zip(self.layer_sets, self.layer_kron):
            mats = ls.matrices(x, w)  # (L or B, n, 1 + D, 4)
            out.append([krons[size](mats[:, lo:lo + size], derivatives)
                        for lo, size in self.groups])
        return out

    def _block(self, layers: list[list[np.ndarray]], step: ApplyLayer, g: int) -> np.ndarray:
        """The step's layer on group ``g``: (d, d), or (B, d, d) for a batched set."""
        dim = 2**self.groups[g][1]
        variants = layers[step.layer_set][g]
        if self.layer_sets[step.layer_set].batched:
            return variants[:, 0].reshape(-1, dim, dim)
        return variants[step.position, 0].reshape(dim, dim)

    def _encoder_gradient(self, encoded: list[np.ndarray], cotangent: np.ndarray) -> np.ndarray:
        """dL/d(encoding angle) (B, n * D) from the cotangent at the product state."""
        batch, count = cotangent.shape[0], len(encoded)
        conj = cotangent.conj()
        if count == 1:
            return (encoded[0][:, 1:] @ conj[:, :, None]).real.reshape(batch, -1)
        conj = conj.reshape(batch, *[e.shape[-1] for e in reversed(encoded)])
        letters = [chr(ord("a") + g) for g in range(count)]
        grads = []
        for g in range(count):  # contract every other group's product state
            others = [h for h in range(count) if h != g]
            spec = f"z{''.join(reversed(letters))}," + ",".join(f"z{letters[h]}" for h in others)
            env = np.einsum(f"{spec}->z{letters[g]}", conj, *[encoded[h][:, 0] for h in others])
            grads.append((encoded[g][:, 1:] @ env[:, :, None]).real.reshape(batch, -1))
        return np.concatenate(grads, axis=1)
