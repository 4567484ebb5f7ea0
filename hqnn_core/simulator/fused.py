"""A fused fast path for the most common circuit shape, with a hand-written backward.

Shape: a product-state encoding (one rotation sequence per qubit, angles from the inputs)
followed by weight-only rotation layers and CNOT-type permutations, read out in the Z
basis, on at most ``MAX_QUBITS`` qubits. Then the whole trainable part is one small
unitary ``U`` whose derivatives ``dU/dθ_k`` are computed together in forward mode (one
extra batch axis, no Python loop per parameter), and the state's derivatives with respect
to the encoding angles come from the same product formula. The backward pass is then
three small tensor contractions instead of the autograd graph of a few dozen tiny
operations, which is what dominates the cost at small qubit counts.

The autograd path in ``engine.py`` stays the reference: tests compare the two.
"""

from __future__ import annotations

import torch

from hqnn_core.simulator import gates
from hqnn_core.simulator.compile import LocalStep, PermStep
from hqnn_core.simulator.engine import StatevectorProgram, kron_qubits, product_state

MAX_QUBITS = 6
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
    shared = program.shared_table
    rest = steps[1:]
    for step in rest:
        if isinstance(step, PermStep):
            continue
        if not (isinstance(step, LocalStep) and not step.batched):
            return None
    if any(isinstance(s, LocalStep) for s in rest):
        if shared is None or not (shared.uniform and set(shared.sequence) <= _KINDS):
            return None
    return rest


def rotations_with_derivatives(angles: torch.Tensor, kinds: list[str]
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-qubit products M = R_{D-1}...R_0 and dM/dθ_d for angles (..., n, D).

    Returns M (..., n, 2, 2) and dM (..., n, D, 2, 2), complex.
    """
    half = angles * 0.5
    c, s = torch.cos(half), torch.sin(half)
    mats, derivs = [], []
    for d, kind in enumerate(kinds):
        cc = torch.stack([c[..., d], -s[..., d]])  # base and shifted by π
        ss = torch.stack([s[..., d], c[..., d]])
        re, im = gates.ROTATIONS[kind](cc, ss)
        both = torch.complex(re, im) if im is not None else re.to(_complex(re.dtype))
        mats.append(both[0])
        derivs.append(both[1] * 0.5)
    depth = len(kinds)
    total = mats[0]
    for d in range(1, depth):
        total = mats[d] @ total
    partials = []
    for d in range(depth):
        term = derivs[d]
        for before in range(d - 1, -1, -1):
            term = term @ mats[before]
        for after in range(d + 1, depth):
            term = mats[after] @ term
        partials.append(term)
    return total, torch.stack(partials, dim=-3)


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


class _FusedProbabilities(torch.autograd.Function):
    @staticmethod
    def forward(ctx, enc_angles: torch.Tensor, shared_angles: torch.Tensor,  # type: ignore[override]
                plan: "FusedPath") -> torch.Tensor:
        psi, dpsi = plan.encoded_states(enc_angles)  # (B, N), (B, n*De, N)
        unitary, jacobian = plan.unitary_and_jacobian(shared_angles)  # (N, N), (P, N, N)
        phi = psi @ unitary.T  # (B, N)
        ctx.save_for_backward(psi, dpsi, phi, unitary, jacobian)
        ctx.dtypes = (enc_angles.dtype, shared_angles.dtype)
        return torch.view_as_real(phi).square().sum(-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        psi, dpsi, phi, unitary, jacobian = ctx.saved_tensors
        weighted = 2 * grad.to(phi.real.dtype) * phi  # (B, N): dL/dt = Re <weighted, dphi/dt>
        grad_enc = grad_shared = None
        if ctx.needs_input_grad[0]:
            pulled = weighted.conj() @ unitary  # (B, N)
            grad_enc = torch.einsum("bj,bmj->bm", pulled, dpsi).real.to(ctx.dtypes[0])
        if ctx.needs_input_grad[1] and jacobian.shape[0]:
            overlap = weighted.conj().T @ psi  # (N, N)
            grad_shared = (jacobian * overlap).sum((-1, -2)).real.to(ctx.dtypes[1])
        return grad_enc, grad_shared, None


class FusedPath:
    """Closed-form probabilities and gradients for ``fused_plan``-compatible programs."""

    def __init__(self, program: StatevectorProgram, rest: list[object]) -> None:
        self.program = program
        self.rest = rest
        self.n = program.n_qubits
        self.encoder = program.batched_tables[program.batched_ids[id(program.steps[0])]]
        self._perm_cache: dict[tuple[torch.dtype, torch.device], dict[int, torch.Tensor]] = {}

    def probabilities(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """(B, 2**n) basis-state probabilities after the fused steps."""
        enc_angles = self.encoder.angles(inputs, weights)
        shared = self.program.shared_table
        if shared is not None:
            shared_angles = shared.angles(None, weights)
        else:
            shared_angles = weights[:0]
        return _FusedProbabilities.apply(enc_angles, shared_angles, self)

    def encoded_states(self, enc_angles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, n = enc_angles.shape[0], self.n
        kinds = self.encoder.sequence
        angles = enc_angles.reshape(batch, n, len(kinds))
        mats, derivs = rotations_with_derivatives(angles, kinds)
        vecs, dvecs = mats[..., :, 0], derivs[..., :, 0]  # (B, n, 2), (B, n, D, 2)
        eye = torch.eye(n, dtype=torch.bool, device=vecs.device).view(n, 1, n, 1)
        replaced = torch.where(eye, dvecs.unsqueeze(-2), vecs[:, None, None])  # (B,n,D,n,2)
        psi = product_state(vecs)
        dpsi = product_state(replaced).reshape(batch, n * len(kinds), 2**n)
        return psi, dpsi

    def unitary_and_jacobian(self, shared_angles: torch.Tensor
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        n, dim = self.n, 2**self.n
        cdtype = _complex(shared_angles.dtype)
        shared = self.program.shared_table
        factors: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        if shared is not None:
            kinds = shared.sequence
            angles = shared_angles.reshape(shared.n_steps, n, len(kinds))
            mats, derivs = rotations_with_derivatives(angles, kinds)
            eye = torch.eye(n, dtype=torch.bool, device=mats.device).view(n, 1, n, 1, 1)
            replaced = torch.where(eye, derivs.unsqueeze(-3), mats[:, None, None])
            blocks = kron_qubits(mats, 0, n)  # (L, N, N)
            dblocks = kron_qubits(replaced, 0, n).reshape(shared.n_steps, -1, dim, dim)
        perms = self._permutation_matrices(cdtype, shared_angles.device)
        for step in self.rest:
            if isinstance(step, PermStep):
                factors.append((perms[id(step)], None))
            else:
                j = self.program.shared_ids[id(step)]
                factors.append((blocks[j], dblocks[j]))
        prefix = [torch.eye(dim, dtype=cdtype, device=shared_angles.device)]
        for matrix, _ in factors:
            prefix.append(matrix @ prefix[-1])
        suffix = torch.eye(dim, dtype=cdtype, device=shared_angles.device)
        pieces: list[torch.Tensor] = []
        for t in range(len(factors) - 1, -1, -1):
            matrix, derivative = factors[t]
            if derivative is not None:
                pieces.append(suffix @ derivative @ prefix[t])
            suffix = suffix @ matrix
        pieces.reverse()
        order = self._jacobian_order()
        if order is None:
            return prefix[-1], torch.zeros(0, dim, dim, dtype=cdtype)
        pieces.append(torch.zeros(1, dim, dim, dtype=cdtype, device=shared_angles.device))
        return prefix[-1], torch.cat(pieces)[order.to(shared_angles.device)]

    def _permutation_matrices(self, cdtype: torch.dtype,
                              device: torch.device) -> dict[int, torch.Tensor]:
        key = (cdtype, device)
        if key not in self._perm_cache:
            eye = torch.eye(2**self.n, dtype=cdtype, device=device)
            self._perm_cache[key] = {
                id(step): eye[torch.as_tensor(step.perm, device=device)]
                for step in self.rest if isinstance(step, PermStep)
            }
        return self._perm_cache[key]

    def _jacobian_order(self) -> torch.Tensor | None:
        """Pieces come in step order; the shared table's angles are in table order."""
        shared = self.program.shared_table
        if shared is None:
            return None
        used = [self.program.shared_ids[id(s)] for s in self.rest if isinstance(s, LocalStep)]
        per = self.n * len(shared.sequence)
        position = {table_index: k for k, table_index in enumerate(used)}
        order = []
        for table_index in range(shared.n_steps):
            if table_index in position:
                k = position[table_index]
                order.extend(range(k * per, (k + 1) * per))
            else:  # a layer the readout does not see: zero gradient
                order.extend([len(used) * per] * per)
        return torch.tensor(order)
