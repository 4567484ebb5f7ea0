"""The fast path for the most common circuit shape: one NumPy forward, one adjoint backward.

Shape: a product-state encoding (the same sequence of rx/ry/rz rotations on every qubit,
angles affine in the inputs and weights) followed by weight-only rotation layers (one
rotation sequence on every qubit) and CNOT-type permutations, read out in the Z basis, on
at most ``MAX_QUBITS`` qubits, on the CPU.

At these sizes a training step costs per-operation overhead, not arithmetic, so the whole
layer (angles, states, readout and all gradients) is one autograd Function whose forward
and backward run a few dozen NumPy operations (complex128) and cross into torch once each
way:

- a rotation sequence R_{D-1}(a_{D-1})...R_0(a_0) is multilinear in the half-angle
  cosines and sines, so its 2x2 matrix and all D derivatives are one product of the
  ``2**D`` monomials with a constant table (``rotation_table``);
- a rotation layer acts on the batch as Kronecker blocks of up to four qubits, as in the
  torch engine; a permutation is a column gather;
- gradients come from the adjoint method: the cotangent state is swept back once, each
  block's gradient is ``G = sum_b conj(lambda_b) s_b^T`` contracted with the block's
  derivatives, and the encoding's gradient comes from the cotangent at the product state.

The autograd path in ``engine.py`` stays the reference: tests compare the two to 1e-12.
"""

from __future__ import annotations

import ctypes
import threading
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from hqnn_core.simulator.compile import CompiledCircuit, LocalStep, PermStep
from hqnn_core.simulator.expressions import ParsedAngles

MAX_QUBITS = 12
GROUP_QUBITS = 4  # rotation layers act as Kronecker blocks of at most this many qubits
# Above this many (batch x 2**n x rotation layers) the torch engine (complex64, threads)
# is faster: measured crossover on 2 cores between 1.3e5 and 2.6e5.
MAX_WORK = 2**17
# R(a) = cos(a/2) I + sin(a/2) G for these rotations.
_GENERATORS = {
    "rx": np.array([[0, -1j], [-1j, 0]]),
    "ry": np.array([[0, -1], [1, 0]], dtype=np.complex128),
    "rz": np.array([[-1j, 0], [0, 1j]]),
}


def rotation_sequence(step: LocalStep, n_qubits: int) -> tuple[str, ...] | None:
    """The rotation kinds every qubit of ``step`` runs, if they are the same parameterized
    rx/ry/rz sequence on all qubits; else None."""
    sequences = {tuple(g.name if g.row is not None else "" for g in step.gates.get(q, []))
                 for q in range(n_qubits)}
    if len(sequences) != 1:
        return None
    kinds = next(iter(sequences))
    return kinds if kinds and all(k in _GENERATORS for k in kinds) else None


def fused_plan(compiled: CompiledCircuit, n_steps: int) -> list[object] | None:
    """The steps after the encoding if the fused path applies, else None."""
    steps, n = compiled.steps[:n_steps], compiled.n_qubits
    if n > MAX_QUBITS or len(steps) < 2:
        return None
    first, rest = steps[0], steps[1:]
    if not (isinstance(first, LocalStep) and first.batched and rotation_sequence(first, n)):
        return None
    for step in rest:
        if isinstance(step, PermStep):
            continue
        if not (isinstance(step, LocalStep) and not step.batched and rotation_sequence(step, n)):
            return None
    rows = [row for s in [first, *rest] if isinstance(s, LocalStep) for row in _rows(s, n)]
    if np.any(compiled.angles.quad_d[rows]):
        return None
    return rest


def fused_groups(n_qubits: int) -> list[tuple[int, int]]:
    """(low qubit, size) blocks of at most GROUP_QUBITS qubits, as even as possible."""
    count = -(-n_qubits // GROUP_QUBITS)
    sizes = [n_qubits // count + (g < n_qubits % count) for g in range(count)]
    return [(sum(sizes[:g]), size) for g, size in enumerate(sizes)]


def _rows(step: LocalStep, n_qubits: int) -> list[int]:
    """Angle rows of a uniform step in (qubit, depth) order."""
    return [g.row for q in range(n_qubits) for g in step.gates[q]]


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
                product = _GENERATORS[kind] @ product
        table[k, 0] = product
    for k in range(2**depth):  # d/da (c I + s G) = -s/2 I + c/2 G
        for d in range(depth):
            table[k, 1 + d] = (-0.5 if k >> d & 1 else 0.5) * table[k ^ (1 << d), 0]
    return table.reshape(2**depth, -1)


def monomials(angles: np.ndarray) -> np.ndarray:
    """(..., D) angles -> (..., 2**D) products of their half-angle cosines and sines."""
    half = 0.5 * angles
    factors = np.empty(angles.shape + (2,))  # (..., D, 2)
    np.cos(half, out=factors[..., 0])
    np.sin(half, out=factors[..., 1])
    if angles.shape[-1] == 1:
        return factors[..., 0, :]
    return _vector_products(angles.shape[-1]).gather(factors).prod(axis=-2)


class GroupProducts:
    """Kronecker products over a group of qubits as one gather and one product.

    Factors are per-qubit vectors (F = 2 entries) or 2x2 matrices (F = 4, row-major); entry
    m of the product is the product over qubits q of entry ``index[q, m]`` of factor q
    (qubit 0 least significant). ``environments`` gives, for every qubit, the derivative of
    the product with respect to that qubit's factor, contracted with given weights.
    """

    def __init__(self, size: int, matrices: bool) -> None:
        self.size, self.n_entries = size, 4 if matrices else 2
        m = np.arange(self.n_entries**size)
        bit = np.arange(size)[:, None]
        if matrices:
            rows, cols = m // 2**size, m % 2**size
            index = 2 * ((rows[None] >> bit) & 1) + ((cols[None] >> bit) & 1)
        else:
            index = (m[None] >> bit) & 1
        self.flat_index = (bit * self.n_entries + index).ravel()  # into (..., size * F)
        one_hot = index[:, :, None] == np.arange(self.n_entries)  # (size, M, F)
        selector = np.zeros((size, len(m), size, self.n_entries), dtype=np.complex128)
        selector[np.arange(size), :, np.arange(size), :] = one_hot
        self.selector = selector.reshape(size * len(m), size * self.n_entries)

    def gather(self, factors: np.ndarray) -> np.ndarray:
        """(..., size, F) factors -> (..., size, M): the entries each product term uses."""
        lead = factors.shape[:-2]
        flat = factors.reshape(*lead, -1)
        return np.take(flat, self.flat_index, axis=-1).reshape(*lead, self.size, -1)

    def environments(self, gathered: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(..., size, F): sum over m of weights[m] * d product[m] / d factor[q, f]."""
        others = np.empty_like(gathered)
        rows = [gathered[..., q, :] for q in range(self.size)]
        for q, other in enumerate(_leave_one_out(rows)[1]):
            others[..., q, :] = 1 if other is None else other
        weighted = (others * weights[..., None, :]).reshape(*weights.shape[:-1], -1)
        return (weighted @ self.selector).reshape(*weights.shape[:-1], self.size, -1)


@lru_cache(maxsize=None)
def _vector_products(size: int) -> GroupProducts:
    return GroupProducts(size, matrices=False)


def _leave_one_out(rows: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The product of ``rows`` and, for each row, the product of all the others (None for
    an empty product), with O(len(rows)) multiplications."""
    if len(rows) == 1:
        return rows[0], [None]
    half = len(rows) // 2
    low, low_others = _leave_one_out(rows[:half])
    high, high_others = _leave_one_out(rows[half:])
    others = [high if o is None else o * high for o in low_others]
    others += [low if o is None else o * low for o in high_others]
    return low * high, others


def apply_block(state: np.ndarray, block: np.ndarray, lo: int, size: int, n: int) -> np.ndarray:
    """(B, 2**n) with a (2**size, 2**size) block applied to qubits lo..lo+size-1."""
    dim = 2**size
    if lo == 0:
        return (state.reshape(-1, dim) @ block.T).reshape(state.shape)
    view = state.reshape(-1, dim, 2**lo)
    return np.matmul(block, view).reshape(state.shape)


def block_gradient(cotangent: np.ndarray, state: np.ndarray, lo: int, size: int) -> np.ndarray:
    """G (2**size, 2**size) with G_ij = sum over all other indices of conj(cotangent_i) state_j."""
    dim = 2**size
    if lo == 0:
        return cotangent.reshape(-1, dim).conj().T @ state.reshape(-1, dim)
    left = np.moveaxis(cotangent.reshape(-1, dim, 2**lo), 1, 0).reshape(dim, -1)
    right = np.moveaxis(state.reshape(-1, dim, 2**lo), 1, 0).reshape(dim, -1)
    return left.conj() @ right.T


class _Angles:
    """Gate angles affine in inputs x and weights w: ``const + x @ a_in.T + w @ a_w.T``."""

    def __init__(self, parsed: ParsedAngles, rows: list[int]) -> None:
        self.const, self.a_in, self.a_w = parsed.const[rows], parsed.a_in[rows], parsed.a_w[rows]
        self.uses_inputs = bool(np.any(self.a_in))
        self.uses_weights = bool(np.any(self.a_w))

    def __call__(self, x: np.ndarray | None, w: np.ndarray) -> np.ndarray:
        out = self.const
        if self.uses_weights:
            out = out + w @ self.a_w.T
        if self.uses_inputs and x is not None:
            out = out + x @ self.a_in.T
        return out


class _LayerSet:
    """Weight-only rotation layers that run the same sequence, handled together."""

    def __init__(self, parsed: ParsedAngles, steps: list[LocalStep], kinds: tuple[str, ...],
                 n_qubits: int) -> None:
        self.ids = [id(s) for s in steps]
        self.depth = len(kinds)
        self.table = rotation_table(kinds)
        self.angles = _Angles(parsed, [r for s in steps for r in _rows(s, n_qubits)])
        self.shape = (len(steps), n_qubits, self.depth)

    def matrices(self, w: np.ndarray) -> np.ndarray:
        """(L, n, 1 + D, 2, 2): each qubit's matrix and its derivatives."""
        mats = monomials(self.angles(None, w).reshape(self.shape)).astype(np.complex128) @ \
            self.table
        return mats.reshape(*self.shape[:2], 1 + self.depth, 2, 2)


class FusedPath:
    """Outputs and gradients of ``fused_plan``-compatible circuits in NumPy.

    ``readout`` maps probabilities (B, 2**n) to outputs: a matrix (2**n, K) for Z-string
    expectations, or an index array for probabilities in readout order.
    """

    def __init__(self, compiled: CompiledCircuit, rest: list[object], readout: np.ndarray,
                 readout_is_index: bool) -> None:
        n = self.n = compiled.n_qubits
        self.groups = fused_groups(n)
        self.vector_products = {size: _vector_products(size) for _, size in self.groups}
        self.matrix_products = {size: GroupProducts(size, True) for _, size in self.groups}
        first = compiled.steps[0]
        assert isinstance(first, LocalStep)
        kinds = rotation_sequence(first, n)
        assert kinds is not None
        self.encoder_depth = len(kinds)
        self.encoder_angles = _Angles(compiled.angles, _rows(first, n))
        self.encoder_table = rotation_table(kinds).reshape(2**len(kinds), 1 + len(kinds), 4)[
            :, :, [0, 2]].reshape(2**len(kinds), -1)  # column 0 of each matrix
        self.rest = rest
        by_kinds: dict[tuple[str, ...], list[LocalStep]] = {}
        for step in rest:
            if isinstance(step, LocalStep):
                by_kinds.setdefault(rotation_sequence(step, n), []).append(step)  # type: ignore
        self.layer_sets = [_LayerSet(compiled.angles, steps, k, n) for k, steps in by_kinds.items()]
        self.where = {step_id: (k, i) for k, ls in enumerate(self.layer_sets)
                      for i, step_id in enumerate(ls.ids)}
        self.inverse = {id(s): np.argsort(s.perm) for s in rest if isinstance(s, PermStep)}
        self.readout, self.readout_is_index = readout, readout_is_index
        self.readout_inverse = np.argsort(readout) if readout_is_index else None
        self.n_weights = compiled.angles.a_w.shape[1]
        self.work_per_sample = 2**n * max(1, sum(isinstance(s, LocalStep) for s in rest))

    def applies_to(self, inputs: torch.Tensor) -> bool:
        """The fused path runs on the CPU outside of torch.func transforms, for batches
        small enough that it is the faster path."""
        return (inputs.device.type == "cpu" and inputs.shape[0] * self.work_per_sample <= MAX_WORK
                and not torch._C._functorch.is_functorch_wrapped_tensor(inputs))

    def outputs(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """(B, K) layer outputs for circuit input values (B, I)."""
        return _FusedLayer.apply(inputs, weights, self)

    def forward(self, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, dict]:
        """Outputs (B, K) and what the backward pass needs."""
        batch, n, depth = x.shape[0], self.n, self.encoder_depth
        angles = self.encoder_angles(x, w).reshape(batch, n, depth)
        columns = (monomials(angles).astype(np.complex128) @ self.encoder_table).reshape(
            batch, n, 1 + depth, 2)
        gathered = [self.vector_products[size].gather(columns[:, lo:lo + size, 0])
                    for lo, size in self.groups]
        parts = [g.prod(axis=-2) for g in gathered]
        state = parts[0]
        for part in parts[1:]:
            state = (part[:, :, None] * state[:, None, :]).reshape(batch, -1)
        mats = [ls.matrices(w) for ls in self.layer_sets]  # (L, n, 1 + D, 2, 2) each
        block_factors = [[self.matrix_products[size].gather(
            m[:, lo:lo + size, 0].reshape(m.shape[0], size, 4)) for lo, size in self.groups]
            for m in mats]
        blocks = [[f.prod(axis=-2).reshape(-1, 2**size, 2**size)
                   for f, (_, size) in zip(per_group, self.groups)] for per_group in block_factors]
        inputs = []
        for step in self.rest:
            if isinstance(step, PermStep):
                state = np.take(state, step.perm, axis=1)
                continue
            k, i = self.where[id(step)]
            for g, (lo, size) in enumerate(self.groups):
                inputs.append(state)
                state = apply_block(state, blocks[k][g][i], lo, size, n)
        probs = state.real**2 + state.imag**2
        out = np.take(probs, self.readout, axis=1) if self.readout_is_index \
            else probs @ self.readout
        saved = {"columns": columns, "gathered": gathered, "parts": parts, "mats": mats,
                 "block_factors": block_factors, "blocks": blocks, "inputs": inputs,
                 "final": state}
        return out, saved

    def backward(self, saved: dict, grad: np.ndarray, need_inputs: bool,
                 need_weights: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Gradients with respect to the circuit inputs (B, I) and the weights (W,)."""
        grad_probs = np.take(grad, self.readout_inverse, axis=1) if self.readout_is_index \
            else grad @ self.readout.T
        cotangent = 2 * grad_probs * saved["final"]  # dL = Re <cotangent, d state>
        inputs, mats = list(saved["inputs"]), saved["mats"]
        block_grads = [np.zeros((ls.shape[0], self.n, 4), dtype=np.complex128)
                       for ls in self.layer_sets]
        for step in reversed(self.rest):
            if isinstance(step, PermStep):
                cotangent = np.take(cotangent, self.inverse[id(step)], axis=1)
                continue
            k, i = self.where[id(step)]
            for g in range(len(self.groups) - 1, -1, -1):
                lo, size = self.groups[g]
                state = inputs.pop()
                if need_weights:
                    gradient = block_gradient(cotangent, state, lo, size).ravel()
                    block_grads[k][i, lo:lo + size] = self.matrix_products[size].environments(
                        saved["block_factors"][k][g][i], gradient)
                block = saved["blocks"][k][g][i]
                cotangent = apply_block(cotangent, block.conj().T, lo, size, self.n)
        encoder_grad = self._encoder_gradient(saved, cotangent)  # (B, n * D)
        grad_x = encoder_grad @ self.encoder_angles.a_in if need_inputs else None
        grad_w = None
        if need_weights:
            grad_w = np.zeros(self.n_weights)
            if self.encoder_angles.uses_weights:
                grad_w += encoder_grad.sum(0) @ self.encoder_angles.a_w
            for ls, m, block_grad in zip(self.layer_sets, mats, block_grads):
                derivatives = m[:, :, 1:].reshape(*m.shape[:2], -1, 4)  # (L, n, D, 4)
                per_angle = (derivatives @ block_grad[..., None]).real  # (L, n, D, 1)
                grad_w += per_angle.ravel() @ ls.angles.a_w
        return grad_x, grad_w

    def _encoder_gradient(self, saved: dict, cotangent: np.ndarray) -> np.ndarray:
        """dL/d(encoding angle) (B, n * D) from the cotangent at the product state."""
        columns, parts = saved["columns"], saved["parts"]
        batch = columns.shape[0]
        conj = cotangent.conj().reshape(batch, *[p.shape[1] for p in reversed(parts)])
        letters = [chr(ord("a") + g) for g in range(len(parts))]
        environments = []
        for g, (lo, size) in enumerate(self.groups):
            others = [h for h in range(len(parts)) if h != g]
            env = conj.reshape(batch, -1) if not others else np.einsum(
                f"z{''.join(reversed(letters))}," + ",".join(f"z{letters[h]}" for h in others)
                + f"->z{letters[g]}", conj, *[parts[h] for h in others])
            environments.append(self.vector_products[size].environments(
                saved["gathered"][g], env))
        env_all = np.concatenate(environments, axis=1) if len(environments) > 1 \
            else environments[0]  # (B, n, 2)
        derivative = columns[:, :, 1:]  # (B, n, D, 2)
        return (derivative @ env_all[..., None]).real.reshape(batch, -1)


class _SingleThreadBlas:
    """NumPy's OpenBLAS on one thread while the fused path runs.

    Its matrices are small, and BLAS threads spinning beside torch's OpenMP threads on the
    same cores made two-thread training several times slower. The thread count is
    process-wide, so this is re-entrant and shared: the first thread in saves the count,
    the last one out restores it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._setters: list[Callable[[int], int]] | None = None
        self._saved: list[int] = []

    def __enter__(self) -> None:
        with self._lock:
            if self._setters is None:
                self._setters = _openblas_thread_setters()
            if self._depth == 0:
                self._saved = [setter(1) for setter in self._setters]
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for setter, threads in zip(self._setters or [], self._saved):
                    setter(threads)


def _openblas_thread_setters() -> list[Callable[[int], int]]:
    """``openblas_set_num_threads_local`` (returns the previous count) of each loaded OpenBLAS."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # then BLAS keeps its threads; results are the same
        return []
    setters = []
    for controller in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        setter = getattr(ctypes.CDLL(controller.filepath), "openblas_set_num_threads_local", None)
        if setter is not None:
            setter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
            setters.append(setter)
    return setters


_BLAS = _SingleThreadBlas()


class _FusedLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weights: torch.Tensor,  # type: ignore[override]
                path: FusedPath) -> torch.Tensor:
        with _BLAS:
            out, saved = path.forward(inputs.detach().numpy().astype(np.float64),
                                      weights.detach().numpy().astype(np.float64))
        ctx.path, ctx.saved = path, saved
        ctx.dtypes = (_NUMPY_DTYPES[inputs.dtype], _NUMPY_DTYPES[weights.dtype])
        return torch.from_numpy(out.astype(_NUMPY_DTYPES[weights.dtype]))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        with _BLAS:
            grad_x, grad_w = ctx.path.backward(
                ctx.saved, grad.detach().numpy().astype(np.float64),
                ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        return (None if grad_x is None else torch.from_numpy(grad_x.astype(ctx.dtypes[0])),
                None if grad_w is None else torch.from_numpy(grad_w.astype(ctx.dtypes[1])), None)


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
