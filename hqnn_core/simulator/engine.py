"""Run a compiled circuit on a batched statevector with torch autograd.

State layout: ``(B, 2**n)`` complex, Qiskit's little-endian order (qubit 0 is the least
significant bit of the index). Weight-only single-qubit layers are built once per call
for all layers together (a table of 2x2 matrices, one gather, a few batched products and
Kronecker blocks), so the cost per forward pass is a handful of tensor operations per
layer whatever the batch size.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from hqnn_core.simulator import gates
from hqnn_core.simulator.compile import (AmplitudeInit, CompiledCircuit, DenseStep, DiagStep,
                                         LocalStep, PermStep)
from hqnn_core.simulator.expressions import AngleBlock
from hqnn_core.simulator.layout import GROUP_QUBITS, qubit_groups, uniform_sequence

MAX_FUSED_QUBITS = 6  # up to this many qubits a layer is one dense 2**n x 2**n matrix


def engine_groups(n_qubits: int) -> list[tuple[int, int]]:
    """(low qubit, size) blocks that a single-qubit layer is applied in."""
    return qubit_groups(n_qubits, n_qubits if n_qubits <= MAX_FUSED_QUBITS else GROUP_QUBITS)


class _LocalTable(torch.nn.Module):
    """Builds the 2x2 matrices of a set of local steps as (L, n, 2, 2) in one pass.

    When every qubit of every step runs the same sequence of parameterized rotations (the
    case for all built-in ansatze and encodings), the angles are read in (L, n, depth)
    order and each rotation kind is built for all positions at once, with no gathers.
    Otherwise a table of all gate matrices is gathered by index.
    """

    def __init__(self, compiled: CompiledCircuit, steps: list[LocalStep]) -> None:
        super().__init__()
        n = compiled.n_qubits
        self.n_steps = len(steps)
        self.n_qubits = n
        sequence = uniform_sequence(steps, n)
        self.uniform = sequence is not None
        if sequence is not None:
            self.sequence = list(sequence)
            rows = [g.row for step in steps for q in range(n) for g in step.gates[q]]
            self.angles = AngleBlock(compiled.angles, rows)
            self.depth = len(self.sequence)
            return
        self._init_table(compiled, steps)

    def _init_table(self, compiled: CompiledCircuit, steps: list[LocalStep]) -> None:
        n = self.n_qubits
        rows, kinds = [], []
        constants: list[np.ndarray] = []
        depth = max((len(g) for s in steps for g in s.gates.values()), default=1)
        for step in steps:  # in the (step, qubit, depth) order of the index loop below
            for q in range(n):
                for gate in step.gates.get(q, []):
                    if gate.row is not None:
                        rows.append(gate.row)
                        kinds.append(gate.name)
        self.kinds = sorted(set(kinds))
        by_kind = {k: [i for i, kind in enumerate(kinds) if kind == k] for k in self.kinds}
        order = [i for k in self.kinds for i in by_kind[k]]  # table position -> gate index
        position = {gate_index: pos for pos, gate_index in enumerate(order)}
        self.kind_sizes = [len(by_kind[k]) for k in self.kinds]
        self.angles = AngleBlock(compiled.angles, [rows[i] for i in order])
        n_param = len(order)
        index = np.zeros((len(steps), depth, n), dtype=np.int64)
        counter = 0
        for s, step in enumerate(steps):
            for q in range(n):
                gate_list = step.gates.get(q, [])
                for d in range(depth):
                    if d >= len(gate_list):
                        index[s, d, q] = -1  # identity, resolved below
                        continue
                    gate = gate_list[d]
                    if gate.row is not None:
                        index[s, d, q] = position[counter]
                        counter += 1
                    else:
                        index[s, d, q] = n_param + len(constants)
                        constants.append(gate.matrix)
        constants.append(np.eye(2))
        index[index < 0] = n_param + len(constants) - 1
        self.register_buffer("constants", _real_view(np.stack(constants)), persistent=False)
        self.register_buffer("index", torch.tensor(index), persistent=False)
        self.depth = depth

    def forward(self, inputs: torch.Tensor | None, weights: torch.Tensor,
                cdtype: torch.dtype) -> torch.Tensor:
        """(L, n, 2, 2), or (B, L, n, 2, 2) when the gates depend on inputs."""
        if self.uniform:
            return self._uniform(inputs, weights)
        parts = []
        if self.angles.size:
            half = self.angles(inputs, weights) * 0.5
            c, s = torch.cos(half), torch.sin(half)
            start = 0
            for kind, size in zip(self.kinds, self.kind_sizes):
                re, im = gates.ROTATIONS[kind](c[..., start:start + size],
                                               s[..., start:start + size])
                parts.append(_to_complex(re, im))
                start += size
        lead = parts[0].shape[:-3] if parts else ()
        constants = torch.view_as_complex(self.constants).to(cdtype).expand(*lead, -1, 2, 2)
        table = torch.cat(parts + [constants], dim=-3) if parts else constants
        mats = table[..., self.index[:, 0], :, :]
        for d in range(1, self.depth):
            mats = table[..., self.index[:, d], :, :] @ mats
        return mats

    def _uniform(self, inputs: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
        angles = self.angles(inputs, weights)
        half = angles.unflatten(-1, (self.n_steps, self.n_qubits, self.depth)) * 0.5
        c, s = torch.cos(half), torch.sin(half)
        mats = None
        for d, kind in enumerate(self.sequence):
            re, im = gates.ROTATIONS[kind](c[..., d], s[..., d])
            if mats is None:
                mats = _to_complex(re, im)
            elif im is None:
                mats = re.to(mats.dtype) @ mats
            else:
                mats = _to_complex(re, im) @ mats
        assert mats is not None
        return mats


def _real_view(matrix: np.ndarray) -> torch.Tensor:
    """A complex array stored as real (..., 2) so that ``module.to(dtype)`` keeps it whole."""
    return torch.view_as_real(torch.tensor(np.asarray(matrix, dtype=np.complex128))).contiguous()


def _to_complex(re: torch.Tensor, im: torch.Tensor | None) -> torch.Tensor:
    if im is None:
        return re.to(torch.complex128 if re.dtype == torch.float64 else torch.complex64)
    return torch.complex(re, im)


def kron_qubits(mats: torch.Tensor, lo: int, size: int) -> torch.Tensor:
    """Kronecker product of qubits lo..lo+size-1 of (..., n, 2, 2) -> (..., 2**size, 2**size).

    Pairs of neighbouring qubits are combined in parallel (log2(size) rounds); qubit lo is
    the least significant factor.
    """
    return _pairwise(mats[..., lo:lo + size, :, :], _kron_pair, axis=-3)


def product_state(vecs: torch.Tensor) -> torch.Tensor:
    """Kronecker product of per-qubit states (..., n, 2) -> (..., 2**n), qubit 0 least
    significant."""
    return _pairwise(vecs, _outer_pair, axis=-2)


def _kron_pair(high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    out = high[..., :, None, :, None] * low[..., None, :, None, :]
    return out.reshape(*out.shape[:-4], out.shape[-4] * out.shape[-3],
                       out.shape[-2] * out.shape[-1])


def _outer_pair(high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    return (high[..., :, None] * low[..., None, :]).flatten(-2)


def _pairwise(blocks: torch.Tensor, combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              axis: int) -> torch.Tensor:
    """Combine factors along axis -3 (matrices) or -2 (vectors), index 0 least significant.

    Each round pairs neighbours at once; an odd top factor waits and joins at the end.
    """
    leftovers = []
    while blocks.shape[axis] > 1:
        if blocks.shape[axis] % 2:
            leftovers.append(blocks.select(axis, blocks.shape[axis] - 1))
            blocks = blocks.narrow(axis, 0, blocks.shape[axis] - 1)
        pairs = blocks.unflatten(axis, (-1, 2))
        blocks = combine(pairs.select(axis, 1), pairs.select(axis, 0))
    out = blocks.select(axis, 0)
    for top in reversed(leftovers):
        out = combine(top, out)
    return out


class _Permute(torch.autograd.Function):
    """Columns of (B, N) reordered by a permutation; its gradient is the inverse gather."""

    @staticmethod
    def forward(ctx, state: torch.Tensor, perm: torch.Tensor,  # type: ignore[override]
                inverse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return state[:, perm]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (inverse,) = ctx.saved_tensors
        return grad[:, inverse], None, None


def permute_columns(state: torch.Tensor, perm: torch.Tensor,
                    inverse: torch.Tensor) -> torch.Tensor:
    """``state[:, perm]`` with a cheap backward (a gather, not a scatter)."""
    return _Permute.apply(state, perm, inverse)


class _StepData(torch.nn.Module):
    """A step's constant tensors as buffers (so that ``.to(device)`` moves them): its matrix,
    phases, permutation or amplitude index, and a permutation's inverse."""

    def __init__(self, values: torch.Tensor, step: object) -> None:
        super().__init__()
        self.register_buffer("values", values, persistent=False)
        inverse = (torch.tensor(gates.inverse_permutation(step.perm), dtype=torch.long)
                   if isinstance(step, PermStep) else None)
        self.register_buffer("inverse", inverse, persistent=False)


class StatevectorProgram(torch.nn.Module):
    """The compiled circuit as a differentiable map (inputs, weights) -> statevector."""

    def __init__(self, compiled: CompiledCircuit) -> None:
        super().__init__()
        self.n_qubits = n = compiled.n_qubits
        self.groups = engine_groups(n)
        self.steps = compiled.steps
        # Steps are referred to by their position in ``steps`` (ids would not survive a copy).
        shared_at = [i for i, s in enumerate(self.steps) if isinstance(s, LocalStep)
                     and not s.batched]
        shared = [self.steps[i] for i in shared_at]
        self.shared_ids = {i: k for k, i in enumerate(shared_at)}
        self.shared_table = _LocalTable(compiled, shared) if shared else None
        self.batched_tables = torch.nn.ModuleList()
        self.batched_ids: dict[int, int] = {}
        self.angle_blocks = torch.nn.ModuleList()
        self.block_ids: dict[int, int] = {}
        self.data = torch.nn.ModuleList(_StepData(self._step_buffer(step), step)
                                        for step in self.steps)
        for i, step in enumerate(self.steps):
            if isinstance(step, LocalStep) and step.batched:
                self.batched_ids[i] = len(self.batched_tables)
                self.batched_tables.append(_LocalTable(compiled, [step]))
            rows = _rows_of(step)
            if rows:
                self.block_ids[i] = len(self.angle_blocks)
                self.angle_blocks.append(AngleBlock(compiled.angles, rows))
        # A shared local step followed by a permutation has the permutation folded in.
        self.folded = {i for i, s in enumerate(self.steps[:-1])
                       if isinstance(s, LocalStep) and not s.batched and i > 0
                       and isinstance(self.steps[i + 1], PermStep) and len(self.groups) == 1}

    def _step_buffer(self, step: object) -> torch.Tensor:
        n = self.n_qubits
        if isinstance(step, PermStep):
            return torch.tensor(step.perm, dtype=torch.long)
        if isinstance(step, DiagStep):
            coeff = np.stack(step.coefficients) if step.coefficients else np.zeros((0, 2**n))
            const = step.const if step.const is not None else np.zeros(2**n)
            return torch.tensor(np.concatenate([const[None], coeff]))
        if isinstance(step, DenseStep) and step.matrix is not None:
            return _real_view(step.matrix)
        if isinstance(step, AmplitudeInit):
            return torch.tensor(_amplitude_index(n), dtype=torch.long)
        return torch.zeros(0)

    def forward(self, inputs: torch.Tensor, weights: torch.Tensor,
                n_steps: int | None = None) -> torch.Tensor:
        """State (B, 2**n) after the first ``n_steps`` steps (all by default)."""
        cdtype = torch.complex128 if weights.dtype == torch.float64 else torch.complex64
        batch = inputs.shape[0]
        shared = (self.shared_table(None, weights, cdtype)
                  if self.shared_table is not None else None)
        state: torch.Tensor | None = None
        steps = self.steps if n_steps is None else self.steps[:n_steps]
        skip_next = False
        for i, step in enumerate(steps):
            if skip_next:
                skip_next = False
                continue
            buffer = self.data[i].values
            if isinstance(step, AmplitudeInit):
                state = self._amplitude(inputs, weights, i, buffer).to(cdtype)
            elif isinstance(step, LocalStep):
                if step.batched:
                    mats = self.batched_tables[self.batched_ids[i]](inputs, weights, cdtype)
                    mats = mats[:, 0]  # (B, n, 2, 2)
                else:
                    mats = shared[self.shared_ids[i]]  # (n, 2, 2)
                perm = None
                if i in self.folded and i + 1 < len(steps):
                    perm = (self.data[i + 1].values, self.data[i + 1].inverse)
                skip_next = perm is not None
                state = self._apply_local(state, mats, batch, cdtype, perm)
            elif isinstance(step, PermStep):
                state = permute_columns(self._initial(state, batch, cdtype), buffer,
                                        self.data[i].inverse)
            elif isinstance(step, DiagStep):
                state = self._apply_diag(self._initial(state, batch, cdtype), step, i, buffer,
                                         inputs, weights)
            elif isinstance(step, DenseStep):
                state = self._apply_dense(self._initial(state, batch, cdtype), step, i, buffer,
                                          inputs, weights)
        return self._initial(state, batch, cdtype)

    def _initial(self, state: torch.Tensor | None, batch: int,
                 cdtype: torch.dtype) -> torch.Tensor:
        if state is not None:
            return state
        zero = torch.zeros(batch, 2**self.n_qubits, dtype=cdtype, device=self._device())
        zero[:, 0] = 1
        return zero

    def _device(self) -> torch.device:
        return next((b.device for b in self.buffers()), torch.device("cpu"))

    def _apply_local(self, state: torch.Tensor | None, mats: torch.Tensor, batch: int,
                     cdtype: torch.dtype,
                     perm: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        n = self.n_qubits
        if state is None:  # product state: column 0 of each qubit's matrix
            out = product_state(mats[..., :, 0])  # (B?, 2**n)
            return out.expand(batch, -1) if out.dim() == 1 else out
        batched = mats.dim() == 4
        for lo, size in self.groups:
            block = kron_qubits(mats, lo, size)  # (B?, 2**size, 2**size)
            if perm is not None:  # rows permuted: the following permutation folded in
                block = permute_columns(block.T, *perm).T
            state = _apply_block(state, block, lo, size, n, batched)
        return state

    def _apply_diag(self, state: torch.Tensor, step: DiagStep, index: int, buffer: torch.Tensor,
                    inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        phase = buffer[0].to(weights.dtype)
        if step.rows:
            angles = self.angle_blocks[self.block_ids[index]](inputs, weights)
            phase = phase + angles @ buffer[1:].to(weights.dtype)
        return state * torch.polar(torch.ones_like(phase), phase)

    def _apply_dense(self, state: torch.Tensor, step: DenseStep, index: int,
                     buffer: torch.Tensor, inputs: torch.Tensor,
                     weights: torch.Tensor) -> torch.Tensor:
        cdtype = state.dtype
        if step.matrix is not None:
            matrix = torch.view_as_complex(buffer).to(cdtype)
        else:
            angle = self.angle_blocks[self.block_ids[index]](inputs, weights)[..., 0]
            c, s = torch.cos(angle * 0.5), torch.sin(angle * 0.5)
            if step.name in ("crx", "cry"):
                re, im = gates.ROTATIONS[step.name[1:]](c, s)
                re, im = gates.controlled(re, im)
            else:
                re, im = gates.pauli_pair(step.name, c, s)
            matrix = torch.complex(re, im)
        return apply_two_qubit(state, matrix, step.qubits, self.n_qubits)

    def _amplitude(self, inputs: torch.Tensor, weights: torch.Tensor, index: int,
                   positions: torch.Tensor) -> torch.Tensor:
        alpha = self.angle_blocks[self.block_ids[index]](inputs, weights)  # (B, 2**n - 1)
        half = alpha * 0.5
        factors = torch.stack([torch.cos(half), torch.sin(half)], -1).flatten(-2)
        picked = factors[:, positions]  # (B, n, 2**n)
        return picked.prod(dim=1)


def _rows_of(step: object) -> list[int]:
    if isinstance(step, DiagStep):
        return step.rows
    if isinstance(step, DenseStep) and step.row is not None:
        return [step.row]
    if isinstance(step, AmplitudeInit):
        return step.rows
    return []


def _amplitude_index(n: int) -> np.ndarray:
    """(n, 2**n) positions into the flattened (angle, cos|sin) factors per tree level."""
    idx = np.arange(2**n)
    out = np.zeros((n, 2**n), dtype=np.int64)
    for level in range(n):
        target = n - 1 - level
        node = (2**level - 1) + (idx >> (target + 1))
        out[level] = 2 * node + ((idx >> target) & 1)
    return out


def _apply_block(state: torch.Tensor, block: torch.Tensor, lo: int, size: int, n: int,
                 batched: bool) -> torch.Tensor:
    """Apply a (B?, 2**size, 2**size) operator on qubits lo..lo+size-1 of (B, 2**n)."""
    batch = state.shape[0]
    if size == n:
        if batched:
            return torch.bmm(block, state.unsqueeze(-1)).squeeze(-1)
        return state @ block.T
    hi = 2 ** (n - lo - size)
    view = state.view(batch, hi, 2**size, 2**lo)
    if batched:
        out = torch.einsum("bij,bhjl->bhil", block, view)
    elif lo == 0:
        out = view.view(batch * hi, 2**size) @ block.T
    else:
        out = torch.matmul(block, view)
    return out.reshape(batch, 2**n)


def apply_two_qubit(state: torch.Tensor, matrix: torch.Tensor, qubits: tuple[int, int],
                    n: int) -> torch.Tensor:
    """Apply a 4x4 (or (B, 4, 4)) gate, first qubit least significant, to (B, 2**n)."""
    batch = state.shape[0]
    a, b = qubits
    tensor = state.view(batch, *([2] * n))
    axis_a, axis_b = n - a, n - b  # axis 0 is the batch; qubit q lives on axis n - q
    moved = torch.movedim(tensor, (axis_b, axis_a), (-2, -1)).reshape(batch, -1, 4)
    if matrix.dim() == 3:
        out = moved @ matrix.transpose(-1, -2)
    else:
        out = moved @ matrix.T
    out = out.reshape(batch, *([2] * (n - 2)), 2, 2)
    return torch.movedim(out, (-2, -1), (axis_b, axis_a)).reshape(batch, 2**n)
