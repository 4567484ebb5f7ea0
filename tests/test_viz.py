"""Plotly builders: each figure's traces carry exactly the data they were given."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Pauli, Statevector, random_statevector

from hqnn_core.viz import figures as viz
from hqnn_core.errors import ShapeError


def test_gallery_has_one_row_per_class_present() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((12, 1, 8, 8))
    labels = np.array([0, 2] * 6)
    fig = viz.sample_gallery_figure(images, labels, ["zero", "one", "two"], per_class=4)
    (trace,) = fig.data
    mosaic = np.asarray(trace.z)
    assert mosaic.shape == (2 * (8 + 2), 4 * (8 + 2), 3)
    assert list(fig.layout.yaxis.ticktext) == ["zero", "two"]
    first = (np.clip(images[0, 0], 0, 1) * 255).round().astype(np.uint8)
    assert np.array_equal(mosaic[:8, :8, 0], first)


def test_gallery_accepts_colour_images_and_rejects_mismatched_labels() -> None:
    fig = viz.sample_gallery_figure(np.zeros((2, 3, 4, 4)), [0, 1], ["a", "b"])
    assert np.asarray(fig.data[0].z).shape[2] == 3
    with pytest.raises(ShapeError):
        viz.sample_gallery_figure(np.zeros((2, 1, 4, 4)), [0], ["a", "b"])


def test_class_balance_has_a_bar_trace_per_split() -> None:
    fig = viz.class_balance_figure(["0", "1", "2"], {"train": [5, 6, 7], "test": [1, 2, 3]})
    assert [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[0].y) == [5, 6, 7]
    assert list(fig.data[1].x) == ["0", "1", "2"]
    with pytest.raises(ShapeError):
        viz.class_balance_figure(["0", "1"], {"train": [1, 2, 3]})


def test_encoding_view_has_one_heatmap_per_image() -> None:
    views = np.random.default_rng(1).random((3, 4, 4))
    fig = viz.encoding_view_figure(views, ["a", "b", "c"])
    assert len(fig.data) == 3
    assert np.allclose(np.asarray(fig.data[2].z), views[2])


def test_bloch_vectors_match_qiskit_expectations() -> None:
    state = random_statevector(2**3, seed=7)
    vectors = viz.bloch_vectors(state.data)
    for q in range(3):
        for k, axis in enumerate("XYZ"):
            label = ["I"] * 3
            label[2 - q] = axis  # Pauli labels are big-endian strings
            expected = state.expectation_value(Pauli("".join(label))).real
            assert vectors[q, k] == pytest.approx(expected, abs=1e-10)


def test_bloch_vectors_of_product_states() -> None:
    # qubit 0 in |+>, qubit 1 in |1>: little-endian index = 2*b1 + b0
    state = Statevector.from_label("1+")
    vectors = viz.bloch_vectors(state.data)
    assert np.allclose(vectors, [[1, 0, 0], [0, 0, -1]], atol=1e-12)


def test_bloch_figure_vector_tips_are_the_vectors() -> None:
    vectors = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -0.5, 0.0]])
    fig = viz.bloch_figure(vectors)
    arrows = [t for t in fig.data if t.name and t.name.startswith("q")]
    assert [t.name for t in arrows] == ["q0", "q1", "q2"]
    for tip, trace in zip(vectors, arrows):
        assert (trace.x[-1], trace.y[-1], trace.z[-1]) == tuple(tip)


def test_basis_probabilities_are_labelled_little_endian() -> None:
    probs = np.array([0.5, 0.0, 0.25, 0.25])
    fig = viz.basis_probability_figure(probs)
    assert list(fig.data[0].x) == ["|00⟩", "|01⟩", "|10⟩", "|11⟩"]
    assert np.allclose(fig.data[0].y, probs)


def test_basis_probabilities_keep_the_top_states() -> None:
    probs = np.zeros(64)
    probs[[3, 40]] = [0.7, 0.3]
    fig = viz.basis_probability_figure(probs, top_k=2)
    assert list(fig.data[0].x) == ["|000011⟩", "|101000⟩"]
    with pytest.raises(ShapeError):
        viz.basis_probability_figure(np.ones(3) / 3)


def test_class_probability_highlights_the_prediction() -> None:
    fig = viz.class_probability_figure([0.1, 0.7, 0.2], ["cat", "dog", "fox"])
    bar = fig.data[0]
    assert list(bar.y) == ["cat", "dog", "fox"]
    assert np.allclose(bar.x, [0.1, 0.7, 0.2])
    assert bar.marker.color[1] != bar.marker.color[0] == bar.marker.color[2]


def test_bloch_figure_labels_its_axes_and_poles() -> None:
    fig = viz.bloch_figure(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
                           titles=["qubit 0 · purity 1.00", "qubit 1 · purity 1.00"])
    axes = [t for t in fig.data if t.name == "axes"]
    assert len(axes) == 2
    labels = [s for s in axes[0].text if s]
    assert labels == ["x", "y", "z  |0⟩", "|1⟩"]
    pole = list(axes[0].text).index("|1⟩")
    assert axes[0].z[pole] < -1  # |1> sits below the south pole
    assert [a.text for a in fig.layout.annotations] == ["qubit 0 · purity 1.00",
                                                        "qubit 1 · purity 1.00"]


def test_bloch_figure_gives_each_qubit_its_own_scene_in_reading_order() -> None:
    fig = viz.bloch_figure(np.tile([0.0, 0.0, 1.0], (6, 1)), max_cols=4)
    scenes = [fig.layout[f"scene{q + 1}" if q else "scene"] for q in range(6)]
    for q, trace in enumerate(fig.data):
        assert trace.scene == ("scene" if q // 3 == 0 else f"scene{q // 3 + 1}")
    boxes = [(s.domain.x, s.domain.y) for s in scenes]
    assert all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for (x0, x1), (y0, y1) in boxes)
    assert [b[0][0] for b in boxes[:4]] == sorted(b[0][0] for b in boxes[:4])  # left to right
    assert boxes[4][1][1] <= boxes[0][1][0]  # the second row lies below the first
    for i, (bx, by) in enumerate(boxes):  # no two scenes overlap
        for cx, cy in boxes[i + 1:]:
            assert bx[1] <= cx[0] or cx[1] <= bx[0] or by[1] <= cy[0] or cy[1] <= by[0]
    tops = [a.y for a in fig.layout.annotations]
    assert tops == [b[1][1] for b in boxes]  # each title sits on its sphere
