"""Gate angles as torch functions of the circuit's input and weight parameters.

Every gate angle in a circuit is a ParameterExpression that is at most quadratic in the
input parameters and linear in the weights (our encodings and ansatze stay in that
class; IQP's RZZ(x_i * x_j) is the quadratic case). ``AngleMap`` evaluates all of them in
a few batched tensor operations:

    angles = const + inputs @ A_in.T + weights @ A_w.T + (inputs[:, I] * inputs[:, J]) @ D.T
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, ParameterExpression

from hqnn_core.errors import ConfigError


def _numeric(value: object) -> float | None:
    """The float value of ``value`` if it has no free parameters, else None."""
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    if isinstance(value, ParameterExpression):
        try:
            return float(np.real(value.numeric()))
        except (TypeError, ValueError, AttributeError):
            return None
    return None


@dataclass(frozen=True)
class ParsedAngles:
    """Gate angles as ``const + A_in x + A_w w + D (x_I * x_J)`` (numpy, float64)."""

    const: np.ndarray  # (G,)
    a_in: np.ndarray  # (G, I)
    a_w: np.ndarray  # (G, W)
    quad_pairs: list[tuple[int, int]]
    quad_d: np.ndarray  # (G, Q)

    @property
    def depends_on_inputs(self) -> np.ndarray:
        """(G,) bool: which angles change with the inputs."""
        return (np.abs(self.a_in).sum(1) > 0) | (np.abs(self.quad_d).sum(1) > 0)


def parse_angles(expressions: Sequence[object], inputs: Sequence[Parameter],
                 weights: Sequence[Parameter]) -> ParsedAngles:
    """Turn gate-angle expressions into the matrices of ``ParsedAngles``."""
    index = {p: ("in", i) for i, p in enumerate(inputs)}
    index.update({p: ("w", i) for i, p in enumerate(weights)})
    n_g = len(expressions)
    const = np.zeros(n_g)
    a_in = np.zeros((n_g, len(inputs)))
    a_w = np.zeros((n_g, len(weights)))
    quad: dict[tuple[int, int], np.ndarray] = {}
    for g, expr in enumerate(expressions):
        value = _numeric(expr)
        if value is not None:
            const[g] = value
            continue
        unknown = [p.name for p in expr.parameters if p not in index]
        if unknown:
            raise ConfigError(
                f"Gate angle {expr} uses parameters that are neither inputs nor weights: "
                f"{', '.join(sorted(unknown))}."
            )
        params = list(expr.parameters)
        const[g] = _numeric(expr.bind({p: 0.0 for p in params}))
        for p in params:
            kind, i = index[p]
            grad = expr.gradient(p)
            slope = _numeric(grad)
            if slope is None:
                slope = _numeric(grad.bind({q: 0.0 for q in grad.parameters}))
                for q in params:
                    kind_q, j = index[q]
                    curvature = _numeric(grad.gradient(q)) if q in grad.parameters else 0.0
                    if curvature is None or (curvature and (kind != "in" or kind_q != "in")):
                        raise ConfigError(
                            f"Gate angle {expr} is not supported by the exact engine: angles "
                            "must be linear in the weights and at most quadratic in the inputs."
                        )
                    if curvature and i <= j:
                        quad.setdefault((i, j), np.zeros(n_g))
                        quad[(i, j)][g] += curvature if i != j else curvature / 2
            (a_in if kind == "in" else a_w)[g, i] = slope
    pairs = sorted(quad)
    quad_d = np.stack([quad[p] for p in pairs], 1) if pairs else np.zeros((n_g, 0))
    return ParsedAngles(const, a_in, a_w, pairs, quad_d)


class AngleBlock(torch.nn.Module):
    """Evaluates the angles of some gates: (B, K) if they depend on inputs, else (K,).

    Plain selections of weights or inputs (the common case) become a slice or a gather,
    so an ansatz costs no matrix product here.
    """

    def __init__(self, parsed: ParsedAngles, rows: Sequence[int]) -> None:
        super().__init__()
        rows = list(rows)
        self.size = len(rows)
        const, a_in, a_w = parsed.const[rows], parsed.a_in[rows], parsed.a_w[rows]
        quad_d = parsed.quad_d[rows]
        self.batched = bool(np.abs(a_in).sum() > 0 or np.abs(quad_d).sum() > 0)
        self.register_buffer("const", torch.tensor(const), persistent=False)
        self._has_const = bool(np.any(const != 0))
        self._w_mode, w_index = _selection(a_w)
        self._in_mode, in_index = _selection(a_in)
        self._w_slice = slice(*w_index) if self._w_mode == "slice" else None
        self._in_slice = slice(*in_index) if self._in_mode == "slice" else None
        self.register_buffer("a_w", torch.tensor(a_w), persistent=False)
        self.register_buffer("a_in", torch.tensor(a_in), persistent=False)
        self.register_buffer("w_index", torch.tensor(w_index, dtype=torch.long), persistent=False)
        self.register_buffer("in_index", torch.tensor(in_index, dtype=torch.long), persistent=False)
        used = np.abs(quad_d).sum(0) > 0
        pairs = [pair for pair, keep in zip(parsed.quad_pairs, used) if keep]
        self.register_buffer("quad_i", torch.tensor([p[0] for p in pairs], dtype=torch.long),
                             persistent=False)
        self.register_buffer("quad_j", torch.tensor([p[1] for p in pairs], dtype=torch.long),
                             persistent=False)
        self.register_buffer("quad_d", torch.tensor(quad_d[:, used]), persistent=False)

    def forward(self, inputs: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
        out = _apply(self._w_mode, self._w_slice, self.w_index, self.a_w, weights)
        if self.batched:
            assert inputs is not None
            from_inputs = _apply(self._in_mode, self._in_slice, self.in_index, self.a_in,
                                 inputs)
            if from_inputs is not None:
                out = from_inputs if out is None else from_inputs + out
            if self.quad_i.numel():
                products = inputs[:, self.quad_i] * inputs[:, self.quad_j]  # (B, Q)
                quadratic = products @ self.quad_d.to(inputs.dtype).T
                out = quadratic if out is None else out + quadratic
        if out is None:
            out = torch.zeros(self.size, dtype=weights.dtype, device=weights.device)
        if self._has_const:
            out = out + self.const.to(out.dtype)
        return out


def _selection(matrix: np.ndarray) -> tuple[str, list[int]]:
    """How to apply ``matrix`` (K, P): 'none', 'slice' a:b, 'gather' idx, or 'matmul'."""
    if not np.any(matrix):
        return "none", []
    nonzero = matrix != 0
    if np.all(nonzero.sum(1) == 1) and np.all(matrix[nonzero] == 1.0):
        idx = [int(np.flatnonzero(row)[0]) for row in nonzero]
        if idx == list(range(idx[0], idx[0] + len(idx))):
            return "slice", [idx[0], idx[0] + len(idx)]
        return "gather", idx
    return "matmul", []


def _apply(mode: str, span: slice | None, index: torch.Tensor, matrix: torch.Tensor,
           values: torch.Tensor) -> torch.Tensor | None:
    if mode == "none":
        return None
    if mode == "slice":
        return values[..., span]
    if mode == "gather":
        return values[..., index]
    return values @ matrix.to(values.dtype).T
