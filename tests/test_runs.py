"""Run folders: atomic files, load_run round trip, the SQLite index, corrupt files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from hqnn_core.learning.checkpoint import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE
from hqnn_core.config import RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.errors import ConfigError, RunError
from hqnn_core.learning.runs import RunStore, load_run
from hqnn_core.learning.training import fit

CONFIG = {
    "data": {"name": "digits", "train_size": 120, "test_size": 60},
    "circuit": {"n_qubits": 3, "layers": 1},
    "train": {"epochs": 1, "batch_size": 30, "lr": 0.05, "seed": 0},
}


def _cfg(kind: str = "hybrid") -> RunConfig:
    return RunConfig.from_dict({**CONFIG, "model": {"kind": kind}})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    run_dir = store.new_run_dir(_cfg(), name="first")
    result = fit(_cfg(), run_dir=run_dir)
    return store, run_dir, result


def test_run_folder_files(trained):
    _, run_dir, _ = trained
    for name in (CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, "checkpoint.safetensors"):
        assert (run_dir / name).is_file()
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_load_run_predicts_like_the_trained_model(trained):
    _, run_dir, result = trained
    run = load_run(run_dir)
    x = load_dataset(run.config.data).x_test[:8]
    expected = torch.softmax(result.model(x), dim=1).detach().numpy()
    np.testing.assert_allclose(run.predict_tensor(x), expected, atol=1e-6)
    assert run.config == _cfg() and run.class_names == [str(i) for i in range(10)]
    assert not run.model.training


def test_predict_images_takes_pil_images(trained):
    from PIL import Image

    _, run_dir, _ = trained
    run = load_run(run_dir)
    img = Image.new("L", (40, 40), 255)
    img.paste(0, (15, 5, 24, 35))  # a dark "1" on white paper
    probs = run.predict_images([img, img.convert("RGB")])
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_index_list_filter_delete(trained, tmp_path):
    store = RunStore(tmp_path)
    first = store.new_run_dir(_cfg(), name="hybrid run")
    stop = threading.Event()
    stop.set()
    fit(_cfg("classical"), run_dir=store.new_run_dir(_cfg("classical")), stop_event=stop)
    assert {r.kind for r in store.list()} == {"hybrid", "classical"}
    assert [r.kind for r in store.list(status="stopped")] == ["classical"]
    assert [r.id for r in store.list(kind="hybrid")] == [first.name]
    assert store.list(dataset="mnist") == []
    assert store.get(first.name).status == "created"
    store.delete(first.name)
    assert not first.exists() and [r.kind for r in store.list()] == ["classical"]
    with pytest.raises(RunError):
        store.get(first.name)


def test_index_rebuilds_when_missing_or_corrupt(trained):
    store, run_dir, result = trained
    store.index_path.unlink()
    rows = RunStore(store.root).list(status="completed")
    assert [r.id for r in rows] == [run_dir.name]
    assert rows[0].test_accuracy == pytest.approx(result.metrics["test_accuracy"])
    store.index_path.write_bytes(b"this is not a database" * 50)
    assert [r.id for r in store.list()] == [run_dir.name]
    with sqlite3.connect(store.index_path) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert store.rebuild() == 1


def test_corrupt_or_missing_files_raise_run_error(trained, tmp_path):
    _, run_dir, _ = trained
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in (CONFIG_FILE, METRICS_FILE):
        (broken / name).write_bytes((run_dir / name).read_bytes())
    with pytest.raises(RunError, match="missing"):
        load_run(broken)
    (broken / WEIGHTS_FILE).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(RunError, match="corrupt"):
        load_run(broken)
    (broken / METRICS_FILE).write_text("{not json")
    with pytest.raises(RunError, match="corrupt"):
        load_run(broken)
    with pytest.raises(RunError):
        load_run(tmp_path / "nowhere")


def test_unknown_config_keys_are_named():
    with pytest.raises(ConfigError, match="epochz"):
        RunConfig.from_dict({"train": {"epochz": 3}})
    with pytest.raises(ConfigError, match="modle"):
        RunConfig.from_dict({"modle": {}})


DEMO_ROOT = Path(__file__).resolve().parents[1] / "assets/models"
DEMOS = sorted(p for p in DEMO_ROOT.glob("*") if (p / CONFIG_FILE).is_file())


@pytest.mark.parametrize("folder", DEMOS, ids=[p.name for p in DEMOS])
def test_shipped_demo_models_load_and_are_small(folder):
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 600_000, f"{folder.name} is {size} bytes"
    run = load_run(folder)
    assert run.metrics["status"] == "completed" and run.metrics["test_accuracy"] > 0.9
    assert len(run.class_names) == 10 and run.model.quantum_layer is not None
    probs = run.predict_tensor(torch.zeros(2, *run.image_shape))
    assert probs.shape == (2, 10)


def test_tags_fill_the_sweep_column_and_survive_a_rebuild(tmp_path):
    store = RunStore(tmp_path)
    tagged = store.new_run_dir(_cfg(), tags={"sweep": "s1", "trial": "t0"})
    plain = store.new_run_dir(_cfg())
    assert [r.id for r in store.list(sweep="s1")] == [tagged.name]
    assert store.get(tagged.name).tags == {"sweep": "s1", "trial": "t0"}
    assert store.get(plain.name).sweep is None and store.get(plain.name).tags == {}
    (tmp_path / "index.sqlite").unlink()
    assert [r.id for r in store.list(sweep="s1")] == [tagged.name]
    again = store.new_run_dir(_cfg(), run_id=tagged.name, exist_ok=True)
    assert again == tagged
    with pytest.raises(RunError):
        store.new_run_dir(_cfg(), run_id="../escape")


def test_an_index_written_before_tags_keeps_working(tmp_path):
    store = RunStore(tmp_path)
    run_dir = store.new_run_dir(_cfg(), tags={"sweep": "s2"})
    (tmp_path / "index.sqlite").unlink()
    old = sqlite3.connect(tmp_path / "index.sqlite")  # the schema of the first release
    old.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT, path TEXT, created REAL, "
                "dataset TEXT, kind TEXT, encoding TEXT, n_qubits INTEGER, status TEXT, "
                "test_accuracy REAL, train_seconds REAL)")
    old.execute("INSERT INTO runs VALUES (?, 'x', ?, 1.0, 'digits', 'hybrid', 'angle', 3, "
                "'completed', 0.5, 1.0)", (run_dir.name, str(run_dir)))
    old.commit()
    old.close()
    info = store.get(run_dir.name)
    assert info.status == "completed" and info.sweep is None  # old row, read as it was
    store.refresh(run_dir.name)
    assert store.get(run_dir.name).sweep == "s2"
