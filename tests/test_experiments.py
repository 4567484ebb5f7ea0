"""The Experiments services: names and tags in tags.json, labels, a portable reproduce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hqnn_core.cli import main
from hqnn_core.config import DataConfig, RunConfig, TrainConfig
from hqnn_core.errors import RunError
from hqnn_core.learning.runs import RunStore
from hqnn_core.studio.experiments import (chart_labels, display_name, person_tags,
                                          portable_config, rename, reproduce_command)


def test_names_and_tags_keep_a_sweep_tag_and_survive_an_index_rebuild(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_dir = store.new_run_dir(RunConfig(), tags={"sweep": "s1"})
    run = rename(store, store.get(run_dir.name), "  my   best run ", "baseline,, angle ")
    assert display_name(run) == "my best run"
    assert person_tags(run) == ["baseline", "angle", "sweep s1"]
    (tmp_path / "index.sqlite").unlink()
    again = store.get(run_dir.name) if store.list() else None
    assert again is not None and again.tags == {"sweep": "s1", "name": "my best run",
                                                "tags": "baseline, angle"}
    cleared = rename(store, again, "", "")
    assert cleared.tags == {"sweep": "s1"} and display_name(cleared) == cleared.name
    with pytest.raises(RunError, match="at most 60 characters"):
        rename(store, cleared, "x" * 61, "")


def test_runs_sharing_a_name_get_distinct_labels(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    for _ in range(2):
        store.new_run_dir(RunConfig())
    store.new_run_dir(RunConfig(), name="other")
    labels = chart_labels(store.list())
    assert len(set(labels)) == 3 and "other" in labels


def test_the_reproduce_command_works_from_another_folder(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The downloaded config and the shown command, run where the repository is not."""
    store = RunStore(tmp_path / "runs")
    cfg = RunConfig(data=DataConfig(classes=(0, 1), train_size=40, test_size=10),
                    train=TrainConfig(epochs=1, batch_size=20))
    run = store.get(store.new_run_dir(cfg).name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text(portable_config(cfg).to_json())
    command = reproduce_command(run, store).split()
    assert command[:3] == ["hqnn", "train", "config.json"] and Path(command[4]).is_absolute()
    assert Path(command[4]) != run.path
    monkeypatch.chdir(elsewhere)
    assert main(command[1:]) == 0
    assert json.loads((Path(command[4]) / "metrics.json").read_text())["status"] == "completed"


def test_a_relative_data_root_becomes_absolute(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = RunConfig(data=DataConfig(name="mnist", root="data"))
    assert portable_config(cfg).data.root == str(tmp_path / "data")
    monkeypatch.setenv("HQNN_DATA_DIR", str(tmp_path / "cache"))
    assert portable_config(RunConfig(data=DataConfig(name="mnist"))).data.root == str(
        tmp_path / "cache")
