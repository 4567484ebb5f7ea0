"""Plotly figures of circuit diagnostics and the live learning map (pure functions).

Inputs come from :mod:`hqnn_core.diagnostics`; nothing here computes a quantum state.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from hqnn_core.diagnostics.expressibility import BINS, haar_bin_probabilities
from hqnn_core.errors import ShapeError

_ACCENT = "#6d28d9"
_HAAR = "#f59e0b"
_PALETTE = qualitative.Plotly + qualitative.D3


def purity_figure(purity: Any) -> go.Figure:
    """Bars of each qubit's purity ``Tr(rho_q^2)`` on [0.5, 1]: 1 = not entangled."""
    p = np.asarray(purity, dtype=np.float64).reshape(-1)
    fig = go.Figure(go.Bar(x=[f"q{q}" for q in range(len(p))], y=p, marker_color=_ACCENT,
                           hovertemplate="%{x}: purity %{y:.3f}<extra></extra>"))
    fig.add_hline(y=1.0, line_dash="dot", line_color="#9ca3af")
    fig.update_layout(yaxis_title="purity Tr(ρ²)", yaxis_range=[0.45, 1.02], height=240,
                      margin=dict(l=10, r=10, t=10, b=10), xaxis_title="qubit")
    fig.update_xaxes(type="category")
    return fig


def gradient_variance_figure(qubits: Sequence[int], layers: Sequence[int],
                             variances: Any) -> go.Figure:
    """Log-scale ``Var[d<Z_0>/d theta]`` against qubits, one line per depth, with a
    ``2^-n`` guide through the first point of the deepest line."""
    v = np.asarray(variances, dtype=np.float64)
    if v.shape != (len(qubits), len(layers)):
        raise ShapeError(f"Expected variances shaped ({len(qubits)}, {len(layers)}), got "
                         f"{v.shape}.")
    fig = go.Figure()
    for j, depth in enumerate(layers):
        fig.add_trace(go.Scatter(x=list(qubits), y=v[:, j], mode="lines+markers",
                                 name=f"{depth} layer{'s' if depth != 1 else ''}",
                                 hovertemplate="%{x} qubits: %{y:.2e}<extra></extra>"))
    n = np.asarray(qubits, dtype=np.float64)
    guide = v[0, -1] * 2.0 ** (n[0] - n)
    fig.add_trace(go.Scatter(x=list(qubits), y=guide, mode="lines", name="∝ 2⁻ⁿ",
                             line=dict(dash="dot", color="#9ca3af"), hoverinfo="skip"))
    fig.update_layout(xaxis_title="qubits", yaxis_title="Var[∂⟨Z₀⟩/∂θ]", yaxis_type="log",
                      height=320, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0))
    fig.update_xaxes(dtick=1)
    return fig


def expressibility_figure(layers: Sequence[int], kl: Sequence[float],
                          entangling: Sequence[float]) -> go.Figure:
    """Expressibility (KL from Haar, log scale, lower = more expressive) and entangling
    capability (Meyer-Wallach Q) against the number of layers, side by side."""
    if not len(layers) == len(kl) == len(entangling):
        raise ShapeError("layers, kl and entangling must have the same length.")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=["Expressibility: KL from Haar (lower = more)",
                                        "Entangling capability Q"])
    fig.add_trace(go.Scatter(x=list(layers), y=list(kl), mode="lines+markers", name="KL",
                             line=dict(color=_ACCENT), showlegend=False,
                             hovertemplate="%{x} layers: KL %{y:.3f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scatter(x=list(layers), y=list(entangling), mode="lines+markers",
                             name="Q", line=dict(color=_HAAR), showlegend=False,
                             hovertemplate="%{x} layers: Q %{y:.3f}<extra></extra>"), 1, 2)
    fig.update_yaxes(type="log", title_text="KL divergence", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text="Meyer-Wallach Q", row=1, col=2)
    fig.update_xaxes(title_text="layers", dtick=1)
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def fidelity_histogram_figure(fidelities: Any, n_qubits: int) -> go.Figure:
    """The sampled fidelity histogram beside Haar's (the bins the KL divergence compares)."""
    f = np.clip(np.asarray(fidelities, dtype=np.float64), 0.0, 1.0)
    counts, edges = np.histogram(f, bins=BINS, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    fig.add_trace(go.Bar(x=centres, y=counts / max(1, counts.sum()), name="this circuit",
                         marker_color=_ACCENT, width=1.0 / BINS))
    fig.add_trace(go.Scatter(x=centres, y=haar_bin_probabilities(n_qubits), mode="lines",
                             name="Haar random", line=dict(color=_HAAR, width=3)))
    shown = np.flatnonzero((counts > 0) | (haar_bin_probabilities(n_qubits) > 1e-3))
    right = max(0.2, edges[shown.max() + 1] if len(shown) else 1.0)  # zoom onto the mass
    fig.update_layout(xaxis_title="fidelity |⟨ψ(θ)|ψ(φ)⟩|²", yaxis_title="share of pairs",
                      height=280, margin=dict(l=10, r=10, t=10, b=10), bargap=0,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0),
                      xaxis_range=[0.0, float(right)])
    return fig


def embedding_figure(frame: Any, class_names: Sequence[str], *, title: str = "") -> go.Figure:
    """Test images in the core's output plane: colour = true class; a cross marks a
    wrong prediction, drawn in the predicted class's colour."""
    pts, y, pred = frame.points, frame.labels, frame.predictions
    fig = go.Figure()
    for k, name in enumerate(class_names):
        colour = _PALETTE[k % len(_PALETTE)]
        right = (y == k) & (pred == k)
        wrong = (pred == k) & (y != k)
        fig.add_trace(go.Scatter(
            x=pts[right, 0], y=pts[right, 1], mode="markers", name=str(name),
            legendgroup=str(name), marker=dict(color=colour, size=7, opacity=0.8),
            hovertemplate=f"class {name}, predicted right<extra></extra>"))
        if wrong.any():
            truth = [str(class_names[t]) for t in y[wrong]]
            fig.add_trace(go.Scatter(
                x=pts[wrong, 0], y=pts[wrong, 1], mode="markers", name=f"→ {name}",
                legendgroup=str(name), showlegend=False, customdata=truth,
                marker=dict(color=colour, size=9, symbol="x-thin", line=dict(width=2,
                                                                              color=colour)),
                hovertemplate=f"class %{{customdata}}, predicted {name}<extra></extra>"))
    a, b = frame.explained
    fig.update_layout(title=dict(text=title, x=0.0), height=420,
                      margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      xaxis_title=f"PC 1 ({a:.0%} of the readout's variance)",
                      yaxis_title=f"PC 2 ({b:.0%})",
                      legend=dict(title="true class", orientation="h", yanchor="top", y=-0.18))
    return fig
