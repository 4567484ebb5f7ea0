"""The live map: core outputs of a fixed test subset, per epoch, for the model and its twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.diagnostics.embedding import (EmbeddingTracker, align, principal_plane,
                                             readout_map, subset_indices)
from hqnn_core.learning.training import fit
from hqnn_core.studio.jobs import QUANTUM, TWIN, TrainingJob

CFG = RunConfig(data=DataConfig(name="digits", train_size=200, test_size=60),
                circuit=CircuitConfig(n_qubits=3, layers=1),
                model=ModelConfig(kind="hybrid"), train=TrainConfig(epochs=2, batch_size=32))


def test_principal_plane_matches_numpy_pca_and_alignment_undoes_a_reflection() -> None:
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(50, 4)) * [3.0, 1.0, 0.2, 0.1]
    points, (a, b) = principal_plane(outputs)
    centred = outputs - outputs.mean(0)
    eig = np.sort(np.linalg.eigvalsh(np.cov(centred.T)))[::-1]
    assert a == pytest.approx(eig[0] / eig.sum()) and b == pytest.approx(eig[1] / eig.sum())
    np.testing.assert_allclose(points.var(0, ddof=1), eig[:2], rtol=1e-9)
    flipped = points * [-1.0, 1.0]
    np.testing.assert_allclose(align(flipped, points), points, atol=1e-9)


def test_readout_map_reads_the_models_core_and_predictions() -> None:
    result = fit(CFG)
    data = load_dataset(CFG.data)
    model = result.model
    frame = readout_map(model, data.x_test, data.y_test, epoch=2)
    with torch.no_grad():
        core = model.core(model.encode(data.x_test)).double().numpy()
        pred = model(data.x_test).argmax(1).numpy()
    expected, _ = principal_plane(core)
    np.testing.assert_allclose(np.abs(frame.points), np.abs(expected), atol=1e-6)
    np.testing.assert_array_equal(frame.predictions, pred)
    acc = float((pred == data.y_test.numpy()).mean())
    assert frame.accuracy == pytest.approx(acc)
    assert result.metrics["test_accuracy"] == pytest.approx(acc)


def test_tracker_takes_a_frame_before_training_and_after_every_epoch() -> None:
    data = load_dataset(CFG.data)
    index = subset_indices(data.y_test, limit=40)
    tracker = EmbeddingTracker(data.x_test[index], data.y_test[index])
    fit(CFG, callbacks=[tracker], data=data)
    frames = tracker.frames()
    assert [f.epoch for f in frames] == [0, 1, 2]
    assert all(f.points.shape == (40, 2) for f in frames)
    assert not np.allclose(frames[0].points, frames[-1].points)  # the map moves as it learns


def test_a_training_job_keeps_maps_for_the_model_and_its_twin(tmp_path) -> None:
    job = TrainingJob(CFG, tmp_path, twin=True)
    job.start()
    assert job.join(300)
    snap = job.snapshot()
    assert snap.status == "completed", snap.error
    assert set(snap.maps) == {QUANTUM, TWIN}
    for label in (QUANTUM, TWIN):
        assert [f.epoch for f in snap.maps[label]] == [0, 1, 2]
        assert len(snap.maps[label][-1].labels) == 60  # the test split is under the 300 cap
        assert snap.maps[label][-1].class_names == tuple(str(d) for d in range(10))


def test_both_maps_move_together_while_the_models_train_side_by_side(tmp_path) -> None:
    seen = []  # at every epoch's end of either model: (quantum done, twin done, last epochs)
    job: list[TrainingJob] = []

    def last(frames) -> int:
        return frames[-1].epoch if frames else 0

    def at_epoch_end(event) -> None:
        if event.kind == "epoch":
            snap = job[0].snapshot()
            seen.append((snap.quantum.done, snap.twin.done, last(snap.maps.get(QUANTUM, ())),
                         last(snap.maps.get(TWIN, ()))))

    job.append(TrainingJob(CFG, tmp_path, twin=True, callbacks=(at_epoch_end,)))
    job[0].start()
    assert job[0].join(300) and job[0].snapshot().status == "completed"
    assert len(seen) == 4  # two epochs of each model
    assert all(abs(q - t) <= 1 for _, _, q, t in seen)  # never an epoch apart more
    assert (False, False, 1, 1) in seen  # both maps moved before either model finished
    final = job[0].snapshot().maps
    assert not np.allclose(final[TWIN][0].points, final[TWIN][-1].points)
