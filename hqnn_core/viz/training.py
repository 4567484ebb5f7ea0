"""Plotly builders for training results: learning curves, confusion matrix, mistakes.

Pure functions, data in, figure (or plain data) out; nothing here imports streamlit.
A *history* is a metrics-like dict ``{"batches": [...], "epochs": [...]}`` (``fit``'s
``metrics["history"]`` spelling ``"batch"`` / ``"epoch"`` is accepted too) whose entries are
dicts with some of ``step``, ``epoch`` (0-based, drawn 1-based), ``loss``, ``acc``,
``val_loss``, ``val_acc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hqnn_core.errors import ShapeError

MAX_BATCH_POINTS = 400  # per series in the per-batch panels (see ``thinned``)
# Up to this many epochs the epoch axes get a tick per epoch; beyond, Plotly's own spacing.
# A tick per epoch made Plotly measure every label again on each redraw: 1.1 s at 100
# epochs and 10 s at 300 in headless Chromium, so a long live run froze the page.
MAX_EPOCH_TICKS = 20
_PALETTE = ("#6d28d9", "#0f766e", "#b45309", "#be123c", "#1d4ed8", "#4d7c0f")


@dataclass(frozen=True)
class GalleryItem:
    """One misclassified sample: an image to show and its caption."""

    image: np.ndarray  # (H, W) or (H, W, 3) float in [0, 1]
    caption: str


def _series(rows: Sequence[Mapping[str, Any]], x_key: str, y_key: str
            ) -> tuple[list[float], list[float]]:
    """(x, y) of the rows that have ``y_key``; x falls back to the row's position."""
    xs, ys = [], []
    for i, row in enumerate(rows):
        if row.get(y_key) is None:
            continue
        xs.append(row.get(x_key, i + 1))
        ys.append(float(row[y_key]))
    return xs, ys


def thinned(xs: list[float], ys: list[float], limit: int = MAX_BATCH_POINTS
            ) -> tuple[list[float], list[float]]:
    """At most ``limit`` points: runs of consecutive batches replaced by their mean, at the
    run's last step (the page redraws the curves every second while training runs; thousands
    of points per model made the browser too busy to take a click)."""
    if len(xs) <= limit:
        return xs, ys
    size = -(-len(xs) // limit)
    return ([xs[min(i + size, len(xs)) - 1] for i in range(0, len(xs), size)],
            [float(np.mean(ys[i:i + size])) for i in range(0, len(ys), size)])


def learning_curves_figure(histories: Mapping[str, Mapping[str, Any]]) -> go.Figure:
    """Loss and accuracy per batch (top row) and per epoch (bottom row) for each label.

    Per-epoch panels draw training as solid lines and validation as dashed lines; each
    label (e.g. "quantum", "classical twin") keeps one colour across all four panels. The
    legend stands above the panels, so it is on screen with the first row.
    """
    epochs_drawn = 0
    fig = make_subplots(rows=2, cols=2, shared_xaxes=False, vertical_spacing=0.22,
                        horizontal_spacing=0.08,
                        subplot_titles=("Loss per batch", "Accuracy per batch",
                                        "Loss per epoch", "Accuracy per epoch"))
    for i, (label, history) in enumerate(histories.items()):
        color = _PALETTE[i % len(_PALETTE)]
        batches = list(history.get("batches") or history.get("batch") or [])
        epochs = [{**row, "epoch": row["epoch"] + 1} if "epoch" in row else row
                  for row in history.get("epochs") or history.get("epoch") or []]
        epochs_drawn = max(epochs_drawn, len(epochs))
        for col, metric in ((1, "loss"), (2, "acc")):
            x, y = thinned(*_series(batches, "step", metric))
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{label} train",
                                     legendgroup=label, showlegend=False,
                                     line=dict(color=color, width=1)), row=1, col=col)
            for suffix, dash in (("", "solid"), ("val_", "dash")):
                x, y = _series(epochs, "epoch", suffix + metric)
                name = f"{label} {'validation' if suffix else 'train'}"
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name,
                                         legendgroup=label, showlegend=col == 1,
                                         line=dict(color=color, dash=dash)), row=2, col=col)
    fig.update_xaxes(title_text="step", row=1)
    fig.update_xaxes(title_text="epoch", dtick=1 if epochs_drawn <= MAX_EPOCH_TICKS else None,
                     row=2)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], row=2, col=2)
    fig.update_layout(height=580, margin=dict(l=10, r=10, t=70, b=10),  # legend on top: it
                      legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0))  # is in view
    return fig


def confusion_matrix_figure(matrix: Any, class_names: Sequence[str]) -> go.Figure:
    """A heatmap of counts: rows are the true class, columns the predicted class."""
    m = np.asarray(matrix)
    k = len(class_names)
    if m.shape != (k, k):
        raise ShapeError(f"Expected a {k}x{k} confusion matrix, got shape {m.shape}.")
    names = [str(c) for c in class_names]
    fig = go.Figure(go.Heatmap(z=m, x=names, y=names, colorscale="Purples", showscale=False,
                               text=m, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_xaxes(title_text="predicted", type="category", side="bottom")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed")
    fig.update_layout(height=max(260, 34 * k + 80), margin=dict(l=10, r=10, t=10, b=10))
    return fig


def misclassified_gallery(images: Any, y_true: Any, y_pred: Any,
                          class_names: Sequence[str], *, limit: int = 16) -> list[GalleryItem]:
    """Up to ``limit`` images ``(M, C, H, W)`` captioned "true → predicted"."""
    x = np.asarray(images, dtype=np.float64)
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    if x.ndim != 4 or len(x) != len(true) or len(true) != len(pred):
        raise ShapeError(f"Expected (M, C, H, W) images with M labels, got {x.shape}, "
                         f"{true.shape}, {pred.shape}.")
    items = []
    for img, t, p in list(zip(x, true, pred))[:limit]:
        shown = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        items.append(GalleryItem(image=np.clip(shown, 0.0, 1.0),
                                 caption=f"{class_names[int(t)]} → {class_names[int(p)]}"))
    return items
