"""Plotly figure builders for the studio: pure functions, data in, figure out.

Nothing here imports streamlit or touches disk. Images are ``(N, C, H, W)`` or
``(N, H, W)`` arrays/tensors in [0, 1]; statevectors use Qiskit's little-endian order
(qubit 0 is the least significant bit of a basis-state index, so the label of basis
state ``i`` on ``n`` qubits is ``format(i, f"0{n}b")``, qubit 0 rightmost).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hqnn_core.errors import ShapeError

_ACCENT = "#6d28d9"
_MUTED = "#c4b5fd"
_PAD = 2  # pixels of white between gallery tiles


def _to_numpy(x: Any) -> np.ndarray:
    """A float64 numpy copy of an array-like or a (possibly grad-tracking) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _to_rgb_uint8(images: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` / ``(N, H, W)`` in [0, 1] -> ``(N, H, W, 3)`` uint8."""
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ShapeError(
            f"Expected images shaped (N, C, H, W) with C in (1, 3), got {images.shape}.")
    rgb = np.repeat(images, 3, axis=1) if images.shape[1] == 1 else images
    return (np.clip(rgb, 0.0, 1.0) * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)


def image_mosaic(rows: Sequence[np.ndarray], n_cols: int) -> np.ndarray:
    """Tile rows of ``(k, H, W, 3)`` uint8 images into one ``(R*(H+p), n_cols*(W+p), 3)`` mosaic."""
    h, w = rows[0].shape[1:3]
    mosaic = np.full((len(rows) * (h + _PAD), n_cols * (w + _PAD), 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row[:n_cols]):
            y, x = r * (h + _PAD), c * (w + _PAD)
            mosaic[y:y + h, x:x + w] = tile
    return mosaic


def sample_gallery_figure(images: Any, labels: Any, class_names: Sequence[str], *,
                          per_class: int = 8) -> go.Figure:
    """A grid with one row per class present in ``labels`` and up to ``per_class`` samples each.

    The first samples of each class (in data order) are shown, so the gallery is stable.
    """
    imgs = _to_rgb_uint8(_to_numpy(images).astype(np.float64))
    y = _to_numpy(labels).astype(np.int64)
    if len(y) != len(imgs):
        raise ShapeError(f"Got {len(imgs)} images but {len(y)} labels.")
    present = [k for k in range(len(class_names)) if np.any(y == k)]
    if not present:
        raise ShapeError("There are no images to show.")
    rows = [imgs[y == k][:per_class] for k in present]
    n_cols = max(len(r) for r in rows)
    mosaic = image_mosaic(rows, n_cols)
    h = imgs.shape[1] + _PAD
    fig = go.Figure(go.Image(z=mosaic, hoverinfo="skip"))
    fig.update_yaxes(tickmode="array", tickvals=[r * h + h / 2 for r in range(len(present))],
                     ticktext=[class_names[k] for k in present], showgrid=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(margin=dict(l=10, r=10, t=10, b=10),
                      height=max(160, 60 * len(present)))
    return fig


def encoding_view_figure(views: Any, titles: Sequence[str]) -> go.Figure:
    """Small grayscale pictures ``(B, h, w)`` side by side: what the encoding sees of each image."""
    v = _to_numpy(views).astype(np.float64)
    if v.ndim != 3 or len(v) != len(titles):
        raise ShapeError(f"Expected {len(titles)} views shaped (B, h, w), got {v.shape}.")
    fig = make_subplots(rows=1, cols=len(v), subplot_titles=list(titles),
                        horizontal_spacing=0.02)
    for i, view in enumerate(v):
        fig.add_trace(go.Heatmap(z=view, colorscale="gray", zmin=0.0, zmax=1.0,
                                 showscale=False, hovertemplate="%{z:.2f}<extra></extra>"),
                      row=1, col=i + 1)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i + 1 if i else ''}",
                         visible=False, row=1, col=i + 1)
        fig.update_xaxes(visible=False, row=1, col=i + 1)
    fig.update_layout(margin=dict(l=10, r=10, t=30, b=10), height=220)
    return fig


def class_balance_figure(class_names: Sequence[str],
                         counts: Mapping[str, Sequence[int]]) -> go.Figure:
    """Grouped bars of images per class, one bar group per split (e.g. train/val/test)."""
    fig = go.Figure()
    for split, values in counts.items():
        if len(values) != len(class_names):
            raise ShapeError(
                f"Split '{split}' has {len(values)} counts for {len(class_names)} classes."
            )
        fig.add_trace(go.Bar(name=split, x=list(class_names), y=[int(v) for v in values]))
    fig.update_layout(barmode="group", xaxis_title="class", yaxis_title="images",
                      margin=dict(l=10, r=10, t=10, b=10), height=300,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0))
    fig.update_xaxes(type="category")
    return fig


def bloch_vectors(state: Any) -> np.ndarray:
    """Per-qubit Bloch vectors ``(n, 3)`` = (<X>, <Y>, <Z>) of a pure state ``(2**n,)``.

    Qubit ``q`` is bit ``q`` of the basis-state index (Qiskit's little-endian order).
    Entangled qubits have vectors shorter than 1.
    """
    psi = _to_numpy(state).astype(np.complex128).reshape(-1)
    n = int(round(math.log2(psi.size)))
    if psi.size != 2**n or n < 1:
        raise ShapeError(f"A statevector needs 2**n amplitudes, got {psi.size}.")
    psi = psi / np.linalg.norm(psi)
    tensor = psi.reshape((2,) * n)  # axes: qubit n-1, ..., qubit 0
    out = np.empty((n, 3))
    for q in range(n):
        a = np.moveaxis(tensor, n - 1 - q, 0).reshape(2, -1)  # (2, 2**(n-1))
        rho = a @ a.conj().T  # (2, 2) reduced density matrix of qubit q
        out[q] = (2 * rho[0, 1].real, -2 * rho[0, 1].imag, (rho[0, 0] - rho[1, 1]).real)
    return out


def _sphere_wireframe(steps: int = 48) -> tuple[list[float | None], ...]:
    """Equator and two meridians of the unit sphere as one None-separated polyline."""
    t = np.linspace(0, 2 * np.pi, steps)
    zeros = np.zeros_like(t)
    circles = [(np.cos(t), np.sin(t), zeros), (np.cos(t), zeros, np.sin(t)),
               (zeros, np.cos(t), np.sin(t))]
    xs: list[float | None] = []
    ys: list[float | None] = []
    zs: list[float | None] = []
    for cx, cy, cz in circles:
        xs += [*cx.tolist(), None]
        ys += [*cy.tolist(), None]
        zs += [*cz.tolist(), None]
    return xs, ys, zs


def _axis_labels() -> dict[str, Any]:
    """The x, y, z axes through the sphere's centre, labelled, with |0> and |1> at the poles."""
    r, t = 1.0, 1.28
    xs = [-r, r, None, 0, 0, None, 0, 0]
    ys = [0, 0, None, -r, r, None, 0, 0]
    zs = [0, 0, None, 0, 0, None, -r, r]
    return dict(type="scatter3d", x=xs + [t, 0, 0, 0], y=ys + [0, t, 0, 0],
                z=zs + [0, 0, t, -t], mode="lines+text", name="axes", showlegend=False,
                hoverinfo="skip", text=[""] * 8 + ["x", "y", "z  |0⟩", "|1⟩"],
                textfont=dict(size=13, color="#374151"), line=dict(color="#9ca3af", width=1))


def bloch_figure(vectors: Any, *, max_cols: int = 4,
                 titles: Sequence[str] | None = None) -> go.Figure:
    """One Bloch sphere per qubit; the arrow of qubit ``q`` ends at ``vectors[q]``.

    Traces come in threes per qubit: the wireframe sphere, the labelled axes (x, y, z with
    |0> at +z and |1> at -z, named ``axes``), then the vector (origin, tip), named ``q0``,
    ``q1``, ... ``titles`` replace the subplot titles ``qubit q``.
    """
    v = _to_numpy(vectors).astype(np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ShapeError(f"Expected Bloch vectors shaped (n, 3), got {v.shape}.")
    n = len(v)
    titles = list(titles) if titles is not None else [f"qubit {q}" for q in range(n)]
    if len(titles) != n:
        raise ShapeError(f"Got {len(titles)} titles for {n} qubits.")
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    wx, wy, wz = _sphere_wireframe()
    axis = dict(range=[-1.35, 1.35], showticklabels=False, title="", showbackground=False,
                showgrid=False, zeroline=False, showspikes=False)
    # Scenes and titles laid out here, not by make_subplots/add_trace(row=, col=), which
    # took 0.4-0.8 s for 8 qubits on every Classify re-run; the layout is the same.
    width, height = (1 - 0.01 * (cols - 1)) / cols, (1 - 0.04 * (rows - 1)) / rows
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = dict(margin=dict(l=0, r=0, t=30, b=0), height=260 * rows,
                                  annotations=[])
    for q, (x, y, z) in enumerate(v):
        row, col = divmod(q, cols)
        scene = "scene" if q == 0 else f"scene{q + 1}"
        x0, top = col * (width + 0.01), 1 - row * (height + 0.04)
        layout[scene] = dict(domain=dict(x=[x0, min(1.0, x0 + width)],
                                         y=[max(0.0, top - height), top]),
                             xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="cube",
                             camera=dict(eye=dict(x=1.3, y=1.3, z=0.8)))
        layout["annotations"].append(dict(text=titles[q], x=x0 + width / 2, y=top,
                                          xref="paper", yref="paper", xanchor="center",
                                          yanchor="bottom", showarrow=False,
                                          font=dict(size=16)))
        traces += [dict(type="scatter3d", x=wx, y=wy, z=wz, mode="lines", hoverinfo="skip",
                        line=dict(color="#d1d5db", width=2), showlegend=False, scene=scene),
                   {**_axis_labels(), "scene": scene},
                   dict(type="scatter3d", x=[0.0, x], y=[0.0, y], z=[0.0, z],
                        mode="lines+markers", name=f"q{q}", showlegend=False,
                        line=dict(color=_ACCENT, width=6), marker=dict(size=[0, 5], color=_ACCENT),
                        hovertemplate=(f"qubit {q}<br>x={x:.2f} y={y:.2f} z={z:.2f}"
                                       "<extra></extra>"), scene=scene)]
    return go.Figure(data=traces, layout=layout)


def basis_probability_figure(probs: Any, *, top_k: int = 32) -> go.Figure:
    """Bars of basis-state probabilities ``(2**n,)`` labelled ``|q_{n-1}...q_0>``.

    With more than ``top_k`` states only the ``top_k`` most likely are shown, in basis order.
    """
    p = _to_numpy(probs).astype(np.float64).reshape(-1)
    n = int(round(math.log2(p.size))) if p.size else 0
    if p.size != 2**n or n < 1:
        raise ShapeError(f"Basis-state probabilities need 2**n entries, got {p.size}.")
    idx = np.arange(p.size)
    if p.size > top_k:
        idx = np.sort(np.argsort(-p, kind="stable")[:top_k])
    labels = [f"|{format(int(i), f'0{n}b')}⟩" for i in idx]
    fig = go.Figure(go.Bar(x=labels, y=p[idx], marker_color=_ACCENT,
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    title = "basis state" if p.size <= top_k else f"basis state (top {top_k} of {p.size})"
    fig.update_layout(xaxis_title=title, yaxis_title="probability", yaxis_range=[0, 1],
                      margin=dict(l=10, r=10, t=10, b=10), height=280)
    fig.update_xaxes(type="category")
    return fig


def class_probability_figure(probs: Any, class_names: Sequence[str]) -> go.Figure:
    """Horizontal bars of class probabilities; the most likely class is highlighted."""
    p = _to_numpy(probs).astype(np.float64).reshape(-1)
    if len(p) != len(class_names):
        raise ShapeError(f"Got {len(p)} probabilities for {len(class_names)} classes.")
    best = int(np.argmax(p))
    colors = [_ACCENT if k == best else _MUTED for k in range(len(p))]
    fig = go.Figure(go.Bar(x=p, y=list(class_names), orientation="h", marker_color=colors,
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(xaxis_title="probability", xaxis_range=[0, 1],
                      margin=dict(l=10, r=10, t=10, b=10), height=max(200, 28 * len(p)))
    fig.update_yaxes(type="category", autorange="reversed")
    return fig
