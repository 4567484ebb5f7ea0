"""The sweep figure builders as pure functions: best so far and parallel coordinates."""

from __future__ import annotations

import math

import pytest

from hqnn_core.sweeps.results import TrialRow, best_so_far
from hqnn_core.viz.sweeps import best_so_far_figure, finished_in_order, parallel_coordinates_figure

T0 = 1_000_000.0


def row(tid, status, val, ended, params=None, best=None, started=None):
    return TrialRow(trial_id=tid, params=params or {}, status=status, val_acc=val,
                    best_val_acc=best, started=T0 if started is None else started,
                    ended=None if ended is None else T0 + ended)


ROWS = [
    row("c", "completed", 0.80, 300, {"train.lr": 0.1, "model.front": "cnn"}),
    row("a", "completed", 0.60, 60, {"train.lr": 0.001, "model.front": "linear"}),
    row("r", "running", 0.99, None, {"train.lr": 0.01, "model.front": "cnn"}),
    row("f", "failed", None, 90, {"train.lr": 0.02, "model.front": "linear"}),
    row("e", "early-stopped", 0.40, 120, {"train.lr": 0.05, "model.front": "linear"}, best=0.70),
    row("d", "completed", 0.75, 240, {"train.lr": 0.003, "model.front": "cnn"}),
]


def test_best_so_far_follows_the_order_trials_ended_in():
    assert [r.trial_id for r in finished_in_order(ROWS)] == ["a", "e", "d", "c"]
    fig = best_so_far_figure(ROWS)
    dots, line = fig.data
    assert list(dots.x) == [1, 2, 3, 4] and list(dots.y) == [0.60, 0.70, 0.75, 0.80]
    assert list(line.y) == [0.60, 0.70, 0.75, 0.80] and line.line.shape == "hv"
    # an early-stopped trial counts with the best epoch it reached, as the engine ranks it
    assert [b for _, b in best_so_far(ROWS)] == list(line.y)


def test_best_so_far_never_goes_down_and_time_is_in_minutes():
    rows = [row("1", "completed", 0.9, 60), row("2", "completed", 0.5, 180),
            row("3", "completed", 0.95, 600)]
    fig = best_so_far_figure(rows, "time")
    assert list(fig.data[1].y) == [0.9, 0.9, 0.95]
    assert list(fig.data[0].x) == pytest.approx([1.0, 3.0, 10.0])
    assert fig.layout.xaxis.title.text == "minutes"
    with pytest.raises(ValueError, match="'trial' or 'time'"):
        best_so_far_figure(rows, "epochs")


def test_an_empty_sweep_draws_empty_figures():
    assert len(best_so_far_figure([]).data[0].x) == 0
    fig = parallel_coordinates_figure([], ["train.lr", "model.front"])
    assert [d.label for d in fig.data[0].dimensions] == ["lr", "front", "validation accuracy"]


def test_parallel_coordinates_axes_and_colours():
    fig = parallel_coordinates_figure(ROWS, ["train.lr", "model.front"])
    lr, front, acc = fig.data[0].dimensions
    scored = ["c", "a", "e", "d"]  # completed and early-stopped only, in table order
    lrs = {"c": 0.1, "a": 0.001, "e": 0.05, "d": 0.003}
    assert lr.label == "log10 lr"  # 0.001 .. 0.1 spans two decades
    assert list(lr.values) == pytest.approx([math.log10(lrs[t]) for t in scored])
    assert list(front.ticktext) == ["cnn", "linear"]
    assert list(front.values) == [0, 1, 1, 0]
    assert list(acc.values) == [0.80, 0.60, 0.70, 0.75]
    assert list(fig.data[0].line.color) == list(acc.values)
    assert (fig.data[0].line.cmin, fig.data[0].line.cmax) == (0.60, 0.80)


def test_a_narrow_numeric_range_stays_linear_and_booleans_are_categories():
    rows = [row(str(i), "completed", 0.5 + i / 10, i, {"circuit.layers": i + 1,
                                                        "circuit.reupload": i % 2 == 0})
            for i in range(3)]
    layers, reupload, _ = parallel_coordinates_figure(rows, ["circuit.layers",
                                                             "circuit.reupload"]).data[0].dimensions
    assert layers.label == "layers" and list(layers.values) == [1.0, 2.0, 3.0]
    assert list(reupload.ticktext) == ["True", "False"] and list(reupload.values) == [0, 1, 0]
