"""A fused fast path for the most common circuit shape, with a hand-written backward.

Shape: a product-state encoding (one rotation sequence per qubit, angles from the inputs)
followed by weight-only rotation layers and CNOT-type permutations, read out in the Z
basis, on at most ``MAX_QUBITS`` qubits, on the CPU. Then the whole trainable part is one
small unitary ``U`` whose derivatives ``dU/dθ_k`` are computed together in forward mode
(one extra batch axis, no loop per parameter), and the state's derivatives with respect to
the encoding angles come from the same product formula. The backward pass is three small
contractions instead of the autograd graph of a few dozen tiny operations.

At these sizes the cost is per-operation overhead, not arithmetic, so the math runs in
NumPy (complex128, about a microsecond per call) and crosses into torch once each way. The
autograd path in ``engine.py`` stays the reference: tests compare the two to 1e-12.
"""

from __future__ import annotations

import numpy as np
import torch

from hqnn_core.simulator.compile import LocalStep, PermStep
from hqnn_core.simulator.engine import StatevectorProgram

MAX_QUBITS = 6
MAX_DENSE_PRODUCTS = 2e7  # complex multiply-adds of dense matrix products allowed per call
_KINDS = {"rx", "ry", "rz"}  # d/dθ R(θ) = R(θ + π) / 2 for these


def fused_plan(program: StatevectorProgram, n_steps: int) -> list[object] | None:
    """The steps after the encoding if the fused path applies, else None."""
    steps = program.steps[:n_steps]
    if program.n_qubits > MAX_QUBITS or len(steps) < 2:
        return None
    first = steps[0]
    if not (isinstance(first, LocalStep) and first.batched):
        return None
    encoder = program.batched_tables[program.batched_ids[id(first)]]
    if not (encoder.uniform and set(encoder.sequence) <= _KINDS):
        return None
    rest = steps[1:]
    for step in rest:
        if not (isinstance(step, PermStep) or (isinstance(step, LocalStep) and not step.batched)):
            return None
    shared = program.shared_table
    if any(isinstance(s, LocalStep) for s in rest):
        if shared is None or not (shared.uniform and set(shared.sequence) <= _KINDS):
            return None
        if _dense_cost(rest, program.n_qubits, len(shared.sequence)) > MAX_DENSE_PRODUCTS:
            return None
    return rest


def _dense_cost(rest: list[object], n_qubits: int, depth: int) -> float:
    """Multiply-adds of the dense products ``unitary_and_jacobian`` will do.

    Products with permutations are index reorders; a product only becomes dense once two
    rotation layers meet, so one trainable layer between CNOT rings costs no matmul.
    """
    dim, per_layer = 2**n_qubits, n_qubits * depth
    local = [isinstance(s, LocalStep) for s in rest]
    cost = 0.0
    for t, is_local in enumerate(local):
        before, after = sum(local[:t]), sum(local[t + 1:])
        if is_local:
            cost += per_layer * dim**3 * ((before > 0) + (after > 0))
            cost += dim**3 * (before > 0)
    return cost


def _fill_rotation(out: np.ndarray, kind: str, c: np.ndarray, s: np.ndarray) -> None:
    """Write R(θ) with half-angle cos/sin ``c, s`` into ``out`` (..., 2, 2)."""
    if kind == "ry":
        out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = c, -s, s, c
    elif kind == "rx":
        out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = c, -1j * s, -1j * s, c
    else:
        out[..., 0, 0], out[..., 1, 1] = c - 1j * s, c + 1j * s


def rotations_with_derivatives(angles: np.ndarray, kinds: list[str]
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Per-qubit products M = R_{D-1}...R_0 and dM/dθ_d for angles (..., n, D).

    Returns M (..., n, 2, 2) and dM (..., n, D, 2, 2), complex128.
    """
    c, s = np.cos(angles * 0.5), np.sin(angles * 0.5)
    rot = np.zeros(angles.shape + (2, 2), dtype=np.complex128)
    drot = np.zeros_like(rot)
    for d, kind in enumerate(kinds):
        _fill_rotation(rot[..., d, :, :], kind, c[..., d], s[..., d])
        _fill_rotation(drot[..., d, :, :], kind, -0.5 * s[..., d], 0.5 * c[..., d])
    depth = len(kinds)
    total = rot[..., 0, :, :]
    for d in range(1, depth):
        total = rot[..., d, :, :] @ total
    partials = []
    for d in range(depth):
        term = drot[..., d, :, :]
        for before in range(d - 1, -1, -1):
            term = term @ rot[..., before, :, :]
        for after in range(d + 1, depth):
            term = rot[..., after, :, :] @ term
        partials.append(term)
    return total, np.stack(partials, axis=-3)


def _kron_factors(factors: np.ndarray, matrices: bool) -> np.ndarray:
    """Kronecker product over the qubit axis (-3 for matrices, -2 for vectors), qubit 0 least
    significant: (..., n, a[, b]) -> (..., a**n[, b**n])."""
    axis = -3 if matrices else -2
    out = np.take(factors, 0, axis=axis)
    for q in range(1, factors.shape[axis]):
        high = np.take(factors, q, axis=axis)
        if matrices:
            out = (high[..., :, None, :, None] * out[..., None, :, None, :])
            out = out.reshape(*out.shape[:-4], out.shape[-4] * out.shape[-3],
                              out.shape[-2] * out.shape[-1])
        else:
            out = (high[..., :, None] * out[..., None, :]).reshape(*out.shape[:-1], -1)
    return out


def _replace_each(base: np.ndarray, derivative: np.ndarray, factor_dims: int) -> np.ndarray:
    """Factors with one qubit's factor swapped for its derivative, for every (qubit, slot).

    base (..., n, *F), derivative (..., n, D, *F) -> (..., n, D, n, *F).
    """
    n = base.shape[-1 - factor_dims]
    mask = np.eye(n, dtype=bool).reshape(n, 1, n, *([1] * factor_dims))
    lead = base.shape[:-1 - factor_dims]
    base_view = base.reshape(*lead, 1, 1, n, *base.shape[-factor_dims:])
    deriv_view = np.expand_dims(derivative, axis=-1 - factor_dims)
    return np.where(mask, deriv_view, base_view)


class _Product:
    """A running product of factors: a permutation (index map) until a dense factor joins.

    A permutation P acts as (P x)[i] = x[p[i]], so P @ X = X[p] and X @ P = X[:, argsort(p)].
    """

    def __init__(self, perm: np.ndarray | None = None, matrix: np.ndarray | None = None) -> None:
        self.perm, self.matrix = perm, matrix

    @staticmethod
    def identity(dim: int) -> "_Product":
        return _Product(perm=np.arange(dim))

    def dense(self) -> np.ndarray:
        if self.matrix is not None:
            return self.matrix
        return np.eye(len(self.perm), dtype=np.complex128)[self.perm]

    def after(self, earlier: "_Product") -> "_Product":
        """self @ earlier."""
        return _Product(**_compose(self, earlier))

    def then_left_of(self, later: "_Product") -> "_Product":
        """self @ later (``self`` is the product of the factors after ``later``)."""
        return _Product(**_compose(self, later))

    def left_of(self, x: np.ndarray) -> np.ndarray:
        """self @ x for x (..., N, N)."""
        if self.matrix is None:
            return x[..., self.perm, :]
        return self.matrix @ x

    def right_of(self, x: np.ndarray) -> np.ndarray:
        """x @ self for x (..., N, N)."""
        if self.matrix is None:
            return x[..., :, np.argsort(self.perm)]
        return x @ self.matrix


def _compose(left: _Product, right: _Product) -> dict[str, np.ndarray]:
    """left @ right, staying a permutation when both are."""
    if left.matrix is None and right.matrix is None:
        return {"perm": right.perm[left.perm]}
    if left.matrix is None:
        return {"matrix": right.matrix[left.perm]}
    if right.matrix is None:
        return {"matrix": left.matrix[:, np.argsort(right.perm)]}
    return {"matrix": left.matrix @ right.matrix}


class _FusedProbabilities(torch.autograd.Function):
    @staticmethod
    def forward(ctx, enc_angles: torch.Tensor, shared_angles: torch.Tensor,  # type: ignore[override]
                plan: "FusedPath") -> torch.Tensor:
        psi, dpsi = plan.encoded_states(enc_angles.detach().numpy())
        unitary, jacobian = plan.unitary_and_jacobian(shared_angles.detach().numpy())
        phi = psi @ unitary.T  # (B, N)
        ctx.saved = (psi, dpsi, phi, unitary, jacobian)
        ctx.dtypes = (enc_angles.dtype, shared_angles.dtype)
        probs = phi.real**2 + phi.imag**2
        return torch.from_numpy(probs).to(enc_angles.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        psi, dpsi, phi, unitary, jacobian = ctx.saved
        weighted = 2 * grad.detach().double().numpy() * phi  # dL/dt = Re <weighted, dphi/dt>
        grad_enc = grad_shared = None
        if ctx.needs_input_grad[0]:
            pulled = weighted.conj() @ unitary  # (B, N)
            grad_enc = torch.from_numpy(
                np.einsum("bj,bmj->bm", pulled, dpsi).real).to(ctx.dtypes[0])
        if ctx.needs_input_grad[1]:
            overlap = weighted.conj().T @ psi  # (N, N)
            grad_shared = torch.from_numpy(
                np.einsum("kij,ij->k", jacobian, overlap).real).to(ctx.dtypes[1])
        return grad_enc, grad_shared, None


class FusedPath:
    """Closed-form probabilities and gradients for ``fused_plan``-compatible programs."""

    def __init__(self, program: StatevectorProgram, rest: list[object]) -> None:
        self.program = program
        self.rest = rest
        self.n = program.n_qubits
        self.encoder = program.batched_tables[program.batched_ids[id(program.steps[0])]]
        self.order = self._jacobian_order()

    def applies_to(self, inputs: torch.Tensor) -> bool:
        """The fused path runs on the CPU outside of torch.func transforms."""
        return inputs.device.type == "cpu" and not torch._C._functorch.is_functorch_wrapped_tensor(
            inputs)

    def probabilities(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """(B, 2**n) basis-state probabilities after the fused steps."""
        enc_angles = self.encoder.angles(inputs, weights)
        shared = self.program.shared_table
        shared_angles = shared.angles(None, weights) if shared is not None else weights[:0]
        return _FusedProbabilities.apply(enc_angles, shared_angles, self)

    def encoded_states(self, enc_angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ψ (B, N) and dψ/d(angle) (B, n*D, N) of the product-state encoding."""
        batch, n, kinds = enc_angles.shape[0], self.n, self.encoder.sequence
        mats, derivs = rotations_with_derivatives(
            enc_angles.astype(np.float64).reshape(batch, n, len(kinds)), kinds)
        vecs, dvecs = mats[..., :, 0], derivs[..., :, 0]  # (B, n, 2), (B, n, D, 2)
        psi = _kron_factors(vecs, matrices=False)
        dpsi = _kron_factors(_replace_each(vecs, dvecs, 1), matrices=False)
        return psi, dpsi.reshape(batch, n * len(kinds), 2**n)

    def unitary_and_jacobian(self, shared_angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """U (N, N) of the weight-only steps and dU/dθ (P, N, N) in the table's angle order."""
        n, dim = self.n, 2**self.n
        shared = self.program.shared_table
        blocks = dblocks = None
        if shared is not None:
            kinds = shared.sequence
            angles = shared_angles.astype(np.float64).reshape(shared.n_steps, n, len(kinds))
            mats, derivs = rotations_with_derivatives(angles, kinds)
            blocks = _kron_factors(mats, matrices=True)  # (L, N, N)
            dblocks = _kron_factors(_replace_each(mats, derivs, 2), matrices=True)
            dblocks = dblocks.reshape(shared.n_steps, -1, dim, dim)
        prefix: list[_Product] = [_Product.identity(dim)]
        for step in self.rest:
            prefix.append(self._factor(step, blocks).after(prefix[-1]))
        suffix = _Product.identity(dim)
        pieces = []
        for t in range(len(self.rest) - 1, -1, -1):
            step = self.rest[t]
            if isinstance(step, LocalStep):
                derivative = dblocks[self.program.shared_ids[id(step)]]  # (m, N, N)
                pieces.append(suffix.left_of(prefix[t].right_of(derivative)))
            suffix = suffix.then_left_of(self._factor(step, blocks))
        unitary = prefix[-1].dense()
        if self.order is None:
            return unitary, np.zeros((0, dim, dim), dtype=np.complex128)
        pieces.reverse()
        pieces.append(np.zeros((1, dim, dim), dtype=np.complex128))
        return unitary, np.concatenate(pieces)[self.order]

    def _factor(self, step: object, blocks: np.ndarray | None) -> "_Product":
        if isinstance(step, PermStep):
            return _Product(perm=step.perm)
        assert blocks is not None
        return _Product(matrix=blocks[self.program.shared_ids[id(step)]])

    def _jacobian_order(self) -> np.ndarray | None:
        """Pieces come in step order; the shared table's angles are in table order."""
        shared = self.program.shared_table
        if shared is None:
            return None
        used = [self.program.shared_ids[id(s)] for s in self.rest if isinstance(s, LocalStep)]
        per = self.n * len(shared.sequence)
        position = {table_index: k for k, table_index in enumerate(used)}
        order: list[int] = []
        for table_index in range(shared.n_steps):
            if table_index in position:
                k = position[table_index]
                order.extend(range(k * per, (k + 1) * per))
            else:  # a layer the readout does not see: zero gradient
                order.extend([len(used) * per] * per)
        return np.array(order)
