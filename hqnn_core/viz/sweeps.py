"""Plotly builders for sweeps: the best validation accuracy so far, and parameters against it.

Pure functions, rows in, figure out. A *row* is any object with the attributes of a sweep's
``TrialRow`` that these read: ``trial_id``, ``status``, ``params`` ({dotted key: value}),
``val_acc``, ``best_val_acc``, ``started`` and ``ended`` (epoch seconds, or None).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import plotly.graph_objects as go

SCORED = ("completed", "early-stopped")
_BEST, _TRIAL = "#6d28d9", "#94a3b8"


def _score(row: Any) -> float | None:
    value = row.best_val_acc if row.best_val_acc is not None else row.val_acc
    return None if value is None else float(value)


def finished_in_order(rows: Sequence[Any]) -> list[Any]:
    """Scored trials (completed or early-stopped, with an accuracy) in the order they ended."""
    done = [r for r in rows if r.status in SCORED and r.ended is not None and _score(r) is not None]
    return sorted(done, key=lambda r: r.ended)


def best_so_far_figure(rows: Sequence[Any], x: str = "trial") -> go.Figure:
    """Each finished trial's validation accuracy (dots) and the best so far (a step line).

    ``x`` is ``"trial"`` (the n-th trial to finish) or ``"time"`` (minutes since the first
    trial started).
    """
    if x not in ("trial", "time"):
        raise ValueError(f"x must be 'trial' or 'time', got {x!r}")
    done = finished_in_order(rows)
    starts = [r.started for r in rows if r.started is not None]
    t0 = min(starts) if starts else 0.0
    xs = ([i + 1 for i in range(len(done))] if x == "trial"
          else [(r.ended - t0) / 60 for r in done])
    scores = [_score(r) for r in done]
    best, best_line = -math.inf, []
    for s in scores:
        best = max(best, s)  # type: ignore[type-var]
        best_line.append(best)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=scores, mode="markers", name="trial",
                             marker=dict(color=_TRIAL, size=8),
                             text=[r.trial_id for r in done],
                             hovertemplate="%{text}: %{y:.1%}<extra></extra>"))
    fig.add_trace(go.Scatter(x=xs, y=best_line, mode="lines", name="best so far",
                             line=dict(color=_BEST, width=3, shape="hv")))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.12),
                      xaxis_title="trials finished" if x == "trial" else "minutes",
                      yaxis=dict(title="validation accuracy", tickformat=".0%"))
    return fig


def _dimension(key: str, values: list[Any]) -> dict[str, Any]:
    """One parallel-coordinates axis: numbers as they are (log10 when they span decades),
    anything else as evenly spaced categories."""
    label = key.split(".", 1)[-1]
    numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric:
        positive = [float(v) for v in values if v > 0]
        if len(positive) == len(values) and max(positive) / min(positive) >= 100:
            return {"label": f"log10 {label}", "values": [math.log10(float(v)) for v in values]}
        return {"label": label, "values": [float(v) for v in values]}
    categories = list(dict.fromkeys(str(v) for v in values))
    return {"label": label, "values": [categories.index(str(v)) for v in values],
            "tickvals": list(range(len(categories))), "ticktext": categories,
            "range": [-0.25, len(categories) - 0.75] if len(categories) > 1 else [-1, 1]}


def parallel_coordinates_figure(rows: Sequence[Any], keys: Sequence[str]) -> go.Figure:
    """One line per scored trial across the parameter axes, ending at its validation accuracy."""
    done = [r for r in rows if r.status in SCORED and _score(r) is not None]
    dims = [_dimension(k, [r.params.get(k) for r in done]) for k in keys]
    scores = [_score(r) for r in done]
    dims.append({"label": "validation accuracy", "values": scores,
                 "range": [min(scores, default=0.0), max(scores, default=1.0)]})
    fig = go.Figure(go.Parcoords(
        line=dict(color=scores, colorscale="Viridis", showscale=True,
                  cmin=min(scores, default=0.0), cmax=max(scores, default=1.0)),
        dimensions=dims))
    fig.update_layout(height=340, margin=dict(l=60, r=40, t=50, b=20))
    return fig
