"""The run index lists every run folder under its root, also those the CLI wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hqnn_core.cli import main
from hqnn_core.config import DataConfig, RunConfig
from hqnn_core.learning.runs import RunStore

TINY = {
    "data": {"name": "digits", "classes": [0, 1], "train_size": 40, "test_size": 10},
    "circuit": {"n_qubits": 2, "layers": 1},
    "train": {"epochs": 1, "batch_size": 20, "lr": 0.05, "seed": 0},
}


def test_a_cli_run_appears_in_an_existing_index(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    store = RunStore(root)
    studio_run = store.new_run_dir(RunConfig(data=DataConfig(classes=(0, 1))))  # index exists
    assert [r.path for r in store.list()] == [studio_run.resolve()]
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    assert main(["train", str(config), "--out", str(root / "from-cli")]) == 0
    rows = {r.id: r for r in store.list()}
    assert set(rows) == {studio_run.name, "from-cli"}
    assert rows["from-cli"].status == "completed" and rows["from-cli"].test_accuracy is not None
    assert store.get("from-cli").n_qubits == 2


def test_removed_and_copied_folders_follow_the_disk(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    first = store.new_run_dir(RunConfig())
    shutil.copytree(first, tmp_path / "copy")
    (tmp_path / "not-a-run").mkdir()
    assert {r.id for r in store.list()} == {first.name, "copy"}
    shutil.rmtree(first)
    assert [r.id for r in store.list()] == ["copy"]


def test_two_threads_creating_the_first_runs_of_a_fresh_folder_both_succeed(tmp_path) -> None:
    """A training job starts the quantum model and its twin at once (and several sessions
    may press Start together): each creates a run
    folder in a runs folder that may have no index yet. None may delete the index another
    is building ("attempt to write a readonly database")."""
    import threading

    from hqnn_core.config import RunConfig
    from hqnn_core.learning.runs import RunStore

    for attempt in range(40):
        root = tmp_path / f"runs{attempt}"
        barrier = threading.Barrier(4)
        made, errors = [], []

        def create() -> None:
            barrier.wait()
            try:
                made.append(RunStore(root).new_run_dir(RunConfig()))
            except Exception as exc:  # collected and reported below
                errors.append(exc)

        threads = [threading.Thread(target=create) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(made) == 4, errors
        assert {run.path for run in RunStore(root).list()} == {p.resolve() for p in made}
