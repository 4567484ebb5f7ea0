"""Figures of diagnostics: what they plot is what they were given."""

from __future__ import annotations

import numpy as np
import pytest

from hqnn_core.diagnostics.embedding import EmbeddingFrame
from hqnn_core.diagnostics.expressibility import haar_bin_probabilities
from hqnn_core.errors import ShapeError
from hqnn_core.viz.diagnostics import (embedding_figure, expressibility_figure,
                                       fidelity_histogram_figure, gradient_variance_figure,
                                       purity_figure)


def test_gradient_variance_figure_has_one_line_per_depth_and_a_guide() -> None:
    grid = np.array([[0.1, 0.08], [0.05, 0.02], [0.02, 0.005]])
    fig = gradient_variance_figure([2, 3, 4], [1, 4], grid)
    assert [t.name for t in fig.data] == ["1 layer", "4 layers", "∝ 2⁻ⁿ"]
    np.testing.assert_allclose(fig.data[1].y, grid[:, 1])
    np.testing.assert_allclose(fig.data[2].y, [0.08, 0.04, 0.02])
    assert fig.layout.yaxis.type == "log"
    with pytest.raises(ShapeError):
        gradient_variance_figure([2, 3], [1], grid)


def test_expressibility_and_histogram_figures() -> None:
    fig = expressibility_figure([1, 2, 3], [0.3, 0.05, 0.01], [0.5, 0.8, 0.82])
    assert list(fig.data[0].y) == [0.3, 0.05, 0.01] and list(fig.data[1].y) == [0.5, 0.8, 0.82]
    hist = fidelity_histogram_figure(np.array([0.0, 0.5, 0.99, 0.99]), 2)
    assert hist.data[0].y.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(hist.data[1].y, haar_bin_probabilities(2))


def test_purity_figure_plots_each_qubit() -> None:
    fig = purity_figure([1.0, 0.5, 0.75])
    assert list(fig.data[0].x) == ["q0", "q1", "q2"]
    assert list(fig.data[0].y) == [1.0, 0.5, 0.75]


def test_embedding_figure_colours_by_true_class_and_crosses_wrong_predictions() -> None:
    frame = EmbeddingFrame(epoch=1, points=np.array([[0, 0], [1, 1], [2, 2], [3, 3.0]]),
                           labels=np.array([0, 0, 1, 1]), predictions=np.array([0, 1, 1, 1]),
                           explained=(0.7, 0.2))
    fig = embedding_figure(frame, ["zero", "one"])
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["zero"].x) == [0] and list(by_name["one"].x) == [2, 3]
    wrong = by_name["→ one"]  # a true zero predicted as one
    assert list(wrong.x) == [1] and list(wrong.customdata) == ["zero"]
    assert wrong.marker.symbol == "x-thin"
    assert "70%" in fig.layout.xaxis.title.text
