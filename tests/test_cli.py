"""The hqnn command line: train / eval / predict in-process, errors, and Ctrl-C as a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hqnn_core.learning.checkpoint import METRICS_FILE, read_json
from hqnn_core.cli import main

REPO = Path(__file__).resolve().parents[1]
TINY = {
    "data": {"name": "digits", "classes": [0, 1, 2], "train_size": 90, "test_size": 30},
    "circuit": {"n_qubits": 3, "layers": 1},
    "train": {"epochs": 2, "batch_size": 15, "lr": 0.05, "seed": 0},
}


def _write(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    out = folder / "run"
    assert main(["train", str(_write(folder / "tiny.json", TINY)), "--out", str(out)]) == 0
    return out


def test_train_writes_a_run(run_dir, capsys):
    metrics = read_json(run_dir / METRICS_FILE)
    assert metrics["status"] == "completed" and metrics["test_accuracy"] is not None


def test_eval_prints_accuracy_and_confusion(run_dir, capsys):
    assert main(["eval", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "confusion matrix" in out
    assert len(out.strip().splitlines()) == 2 + 1 + 3  # summary, title, header, 3 classes


def test_predict_prints_top_class(run_dir, tmp_path, capsys):
    from PIL import Image

    img = Image.new("L", (32, 32), 0)
    img.paste(255, (14, 4, 18, 28))
    path = tmp_path / "one.png"
    img.save(path)
    assert main(["predict", str(run_dir), str(path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{path}: ") and all(f"{c}: " in line for c in "012")


def test_errors_are_one_sentence(tmp_path, capsys):
    bad = _write(tmp_path / "bad.json", {**TINY, "train": {"epochz": 1}})
    assert main(["train", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "epochz" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["eval", str(tmp_path / "missing")]) == 1
    assert "not a run folder" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
    capsys.readouterr()


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    config = {**TINY, "train": {**TINY["train"], "epochs": 500}}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hqnn_core.cli", "train",
           str(_write(tmp_path / "long.json", config)), "--out", str(out)]
    log_path = tmp_path / "stderr.txt"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stderr=log, stdout=subprocess.DEVNULL)
        try:
            checkpoint = out / "checkpoint.safetensors"
            for _ in range(1200):  # wait for the first epoch's checkpoint (at most ~2 min)
                if checkpoint.exists() or proc.poll() is not None:
                    break
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    err = log_path.read_text()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    metrics = read_json(out / METRICS_FILE)
    assert metrics["status"] == "stopped" and metrics["epochs_done"] >= 1
    assert checkpoint.is_file()


CONFIGS = sorted((REPO / "assets/configs").glob("*.json"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_configs_are_valid(path):
    from hqnn_core.config import RunConfig

    cfg = RunConfig.from_json(path)
    assert cfg.train.epochs >= 1


def test_issue_config_reads_mnist_relative_to_the_repo(monkeypatch):
    import dataclasses

    from hqnn_core.config import RunConfig
    from hqnn_core.data.registry import load_dataset

    if not (REPO.parent / "shared/data/mnist-10k").is_dir():
        pytest.skip("the offline MNIST folder ../shared/data/mnist-10k is not beside the repo")
    monkeypatch.chdir(REPO)
    cfg = RunConfig.from_json(REPO / "assets/configs/mnist-hybrid-cnn.json")
    data = load_dataset(dataclasses.replace(cfg.data, train_size=60, test_size=20))
    assert data.image_shape == (1, 28, 28) and len(data.class_names) == 10


def test_resume_from_a_run_folder_saved_before_the_recipe_keys(tmp_path, capsys):
    """`hqnn train RUN/config.json --out RUN --resume` reads the saved config as saved: keys
    it lacks get the values it was trained with (from_saved), not today's defaults."""
    import threading

    from hqnn_core.config import LEGACY_VALUES, RunConfig
    from hqnn_core.learning.training import fit

    legacy = {**TINY, **{s: {**TINY.get(s, {}), **v} for s, v in LEGACY_VALUES.items()}}
    legacy["train"] = {**legacy["train"], "epochs": 3}
    cfg, out, stop = RunConfig.from_dict(legacy), tmp_path / "old-run", threading.Event()
    stopped = fit(cfg, run_dir=out, stop_event=stop,
                  callbacks=[lambda e: stop.set() if e.kind == "epoch" else None])
    assert stopped.status == "stopped"
    saved = read_json(out / "config.json")  # as a pre-recipe version wrote it: no recipe keys
    for section, keys in LEGACY_VALUES.items():
        for key in keys:
            del saved[section][key]
    (out / "config.json").write_text(json.dumps(saved))
    assert RunConfig.from_dict(saved) != cfg  # today's defaults would refuse the resume
    assert main(["train", str(out / "config.json"), "--out", str(out), "--resume"]) == 0, \
        capsys.readouterr().err
    metrics = read_json(out / METRICS_FILE)
    assert metrics["status"] == "completed" and metrics["epochs_done"] == 3
    assert RunConfig.from_dict(read_json(out / "config.json")) == cfg  # legacy values kept
    # a hand-written file is still read with today's defaults
    assert main(["train", str(_write(tmp_path / "hand.json", saved)), "--out", str(out),
                 "--resume"]) == 1
    assert "different configuration" in capsys.readouterr().err
