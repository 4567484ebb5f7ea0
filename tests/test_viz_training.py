"""Training-result figures: traces, axes and captions follow the data given."""

from __future__ import annotations

import numpy as np
import pytest

from hqnn_core.errors import ShapeError
from hqnn_core.viz.training import (confusion_matrix_figure, learning_curves_figure,
                                    misclassified_gallery)

HISTORY = {
    "batches": [{"epoch": 0, "step": 1, "loss": 2.0, "acc": 0.1},
                {"epoch": 0, "step": 2, "loss": 1.5, "acc": 0.4},
                {"epoch": 1, "step": 3, "loss": 1.0, "acc": 0.6}],
    "epochs": [{"epoch": 0, "step": 2, "loss": 1.7, "acc": 0.3, "val_loss": 1.8, "val_acc": 0.25},
               {"epoch": 1, "step": 3, "loss": 1.0, "acc": 0.6, "val_loss": None,
                "val_acc": None}],
}


def test_learning_curves_have_batch_and_epoch_series_per_label() -> None:
    fig = learning_curves_figure({"quantum": HISTORY, "classical twin": {"batches": [],
                                                                         "epochs": []}})
    by_name = {}
    for trace in fig.data:
        by_name.setdefault(trace.name, []).append(trace)
    assert set(by_name) == {"quantum train", "quantum validation", "classical twin train",
                            "classical twin validation"}
    loss_batches = fig.data[0]
    assert list(loss_batches.x) == [1, 2, 3] and list(loss_batches.y) == [2.0, 1.5, 1.0]
    epoch_train, epoch_val = fig.data[1], fig.data[2]
    assert list(epoch_train.x) == [1, 2]  # epochs are drawn 1-based
    assert list(epoch_val.x) == [1] and list(epoch_val.y) == [1.8]  # missing values skipped
    assert epoch_val.line.dash == "dash"
    colors = {t.line.color for t in by_name["quantum train"]}
    assert len(colors) == 1 and colors != {t.line.color for t in by_name["classical twin train"]}


def test_the_legend_of_the_learning_curves_stands_above_the_panels() -> None:
    """Which colour is the quantum model and which its twin must be on screen with the
    first row of panels (it used to hang below the last one, under the fold)."""
    fig = learning_curves_figure({"quantum": HISTORY, "classical twin": HISTORY})
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yanchor == "bottom" and legend.y > 1
    titles = [a.y for a in fig.layout.annotations]  # subplot titles, the top row at 1
    assert legend.y > max(titles)
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert shown == ["quantum train", "quantum validation", "classical twin train",
                     "classical twin validation"]


def test_long_runs_draw_at_most_400_batch_points_per_series_as_means_of_runs() -> None:
    from hqnn_core.viz.training import MAX_BATCH_POINTS, thinned

    steps = list(range(1, 6151))  # 150 epochs of 41 batches
    losses = [1.0 / s for s in steps]
    xs, ys = thinned(steps, losses)
    assert len(xs) == len(ys) <= MAX_BATCH_POINTS and xs[-1] == 6150
    size = -(-6150 // MAX_BATCH_POINTS)
    assert xs[0] == size and ys[0] == pytest.approx(sum(losses[:size]) / size)
    assert thinned(steps[:50], losses[:50]) == (steps[:50], losses[:50])  # short: untouched
    history = {"batches": [{"epoch": 0, "step": s, "loss": 1.0, "acc": 0.5} for s in steps]}
    fig = learning_curves_figure({"quantum": history})
    assert len(fig.data[0].x) <= MAX_BATCH_POINTS and fig.data[0].x[-1] == 6150


def test_long_runs_let_plotly_space_the_epoch_ticks() -> None:
    """A tick per epoch made each live redraw of a 300-epoch run take seconds in Chromium."""
    from hqnn_core.viz.training import MAX_EPOCH_TICKS

    def epochs(n: int) -> dict:
        return {"epochs": [{"epoch": e, "loss": 1.0, "acc": 0.5} for e in range(n)]}

    short = learning_curves_figure({"quantum": epochs(MAX_EPOCH_TICKS)})
    long = learning_curves_figure({"quantum": epochs(5), "twin": epochs(MAX_EPOCH_TICKS + 1)})
    assert short.layout.xaxis3.dtick == 1 and short.layout.xaxis4.dtick == 1
    assert long.layout.xaxis3.dtick is None and long.layout.xaxis4.dtick is None
    assert long.layout.xaxis3.title.text == "epoch"


def test_learning_curves_accept_fit_metrics_spelling() -> None:
    fit_style = {"batch": HISTORY["batches"], "epoch": HISTORY["epochs"]}
    fig = learning_curves_figure({"run": fit_style})
    assert list(fig.data[0].y) == [2.0, 1.5, 1.0]


def test_confusion_matrix_rows_are_true_classes() -> None:
    matrix = np.array([[5, 1], [2, 7]])
    fig = confusion_matrix_figure(matrix, ["zero", "one"])
    heat = fig.data[0]
    assert np.array_equal(np.asarray(heat.z), matrix)
    assert list(heat.x) == ["zero", "one"] and list(heat.y) == ["zero", "one"]
    assert fig.layout.yaxis.title.text == "true" and fig.layout.xaxis.title.text == "predicted"
    with pytest.raises(ShapeError):
        confusion_matrix_figure(np.zeros((3, 3)), ["a", "b"])


def test_misclassified_gallery_captions_and_images() -> None:
    images = np.random.default_rng(0).random((5, 1, 8, 8))
    items = misclassified_gallery(images, [0, 1, 2, 0, 1], [1, 2, 0, 2, 0],
                                  ["a", "b", "c"], limit=3)
    assert [i.caption for i in items] == ["a → b", "b → c", "c → a"]
    assert items[0].image.shape == (8, 8) and np.allclose(items[0].image, images[0, 0])
    rgb = misclassified_gallery(np.zeros((1, 3, 4, 4)), [0], [1], ["a", "b"])
    assert rgb[0].image.shape == (4, 4, 3)
    with pytest.raises(ShapeError):
        misclassified_gallery(np.zeros((2, 8, 8)), [0, 1], [1, 0], ["a", "b"])
