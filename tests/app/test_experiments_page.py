"""The Experiments page: the run table, comparing runs, downloads, the command, deleting."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from streamlit.testing.v1 import AppTest

from hqnn_core.learning.checkpoint import METRICS_FILE, WEIGHTS_FILE, atomic_write_json
from hqnn_core.config import CircuitConfig, RunConfig
from hqnn_core.learning.runs import RunStore


def make_run(root: Path, n_qubits: int, accuracy: float) -> Path:
    """A finished run folder with a short learning curve (no training needed)."""
    store = RunStore(root)
    run_dir = store.new_run_dir(RunConfig(circuit=CircuitConfig(n_qubits=n_qubits)))
    history = {"batch": [{"epoch": 0, "step": s, "loss": 2.0 - s / 10, "acc": s / 10}
                         for s in range(1, 5)],
               "epoch": [{"epoch": 0, "step": 4, "loss": 1.6, "acc": 0.4, "val_loss": 1.7,
                          "val_acc": 0.35}]}
    atomic_write_json(run_dir / METRICS_FILE, {"status": "completed", "test_accuracy": accuracy,
                                               "train_seconds": 3.5, "history": history})
    (run_dir / WEIGHTS_FILE).write_bytes(b"weights")
    store.refresh(run_dir.name)
    return run_dir


def select_rows(at: AppTest, rows: list[int]) -> AppTest:
    key = at.dataframe[0].key
    at.session_state[key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_no_runs_yet(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("experiments.py")
    assert not at.exception
    assert any("No runs yet" in i.value for i in at.info)


def test_table_lists_the_runs(runs_dir: Path, open_page: Callable[[str], AppTest]) -> None:
    make_run(runs_dir, 3, 0.8)
    make_run(runs_dir, 5, 0.9)
    at = open_page("experiments.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 2
    assert sorted(table["accuracy"]) == [0.8, 0.9]
    circuit = CircuitConfig()
    whole = f"{circuit.ansatz} ×{circuit.layers} · {circuit.entanglement} · {circuit.measurement}"
    assert set(table["circuit"]) == {f"3 qubits · angle · {whole}", f"5 qubits · angle · {whole}"}


def test_selecting_runs_compares_them_and_offers_downloads(
        runs_dir: Path, open_page: Callable[[str], AppTest]) -> None:
    make_run(runs_dir, 3, 0.8)
    newest = make_run(runs_dir, 5, 0.9)
    at = select_rows(open_page("experiments.py"), [1, 0])
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1
    assert at.session_state["selected_run"] == str(newest.resolve())
    command = next(c.value for c in at.code if c.value.startswith("hqnn train"))
    assert command == f"hqnn train config.json --out {runs_dir.resolve() / newest.name}-again"
    labels = {b.label for b in at.get("download_button")}
    assert labels == {"Download config.json", "Download model.safetensors"}


def test_deleting_asks_first(runs_dir: Path, open_page: Callable[[str], AppTest]) -> None:
    run_dir = make_run(runs_dir, 3, 0.8)
    at = select_rows(open_page("experiments.py"), [0])
    at.button(key="experiments_delete").click().run()
    assert run_dir.exists()
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key="experiments_delete_yes").click().run()
    assert not at.exception
    assert not run_dir.exists()
    assert any("No runs yet" in i.value for i in at.info)
    assert "selected_run" not in at.session_state


def test_runs_sharing_a_name_stay_apart_and_can_be_named_and_tagged(
        runs_dir: Path, open_page: Callable[[str], AppTest]) -> None:
    """Both runs are "digits_hybrid": two curves, not one overwritten; then a person names one."""
    first = make_run(runs_dir, 3, 0.8)
    make_run(runs_dir, 3, 0.9)
    at = select_rows(open_page("experiments.py"), [0, 1])
    assert not at.exception
    table = at.dataframe[0].value
    assert len(set(table["run"])) == 2
    chart = at.get("plotly_chart")[0].proto.spec
    assert all(label in chart for label in table["run"])
    at = select_rows(at, [1])
    at.text_input(key=f"experiments_name_{first.name}").input("four-qubit baseline")
    at.text_input(key=f"experiments_tags_{first.name}").input("baseline, angle")
    at.button(key="experiments_rename").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "four-qubit baseline" in set(table["run"])
    assert "baseline, angle" in set(table["tags"])
    assert RunStore(runs_dir).get(first.name).tags == {"name": "four-qubit baseline",
                                                       "tags": "baseline, angle"}
