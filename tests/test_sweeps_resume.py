"""The studio's SweepJob (an ``hqnn sweep`` child process): stop keeps finished trials, resume ends it.

Also the CLI's one-sentence errors, which need no Ray.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hqnn_core.learning.runs import RunStore
from hqnn_core.studio.sweep_job import SweepJob
from hqnn_core.sweeps.run import _fit
from hqnn_core.sweeps.spec import SweepSpec
from tests.sweep_helpers import TINY, short_temp_dir, wait_until_gone

REPO = Path(__file__).resolve().parents[1]


def _hqnn(*args, env=None):
    return subprocess.run([sys.executable, "-m", "hqnn_core", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)


def test_cli_sweep_errors_are_one_sentence(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"base": {}, "space": {"train.lr": {"range": [1, 0]}}, "trials": 2}')
    out = _hqnn("sweep", str(bad), "--out", str(tmp_path / "s"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "low < high" in out.stderr
    good = tmp_path / "good.json"
    good.write_text(SweepSpec.from_dict({"base": TINY, "space": {"train.lr": [0.1]},
                                         "search": "grid"}).to_json())
    out = _hqnn("sweep", str(good), "--out", str(tmp_path / "none"), "--resume")
    assert out.returncode == 1 and "no sweep to resume" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_stopped_sweep_keeps_finished_trials_and_resumes(tmp_path, monkeypatch):
    temp = short_temp_dir("hqj")
    monkeypatch.setenv("HQNN_RAY_TEMP_DIR", temp)
    spec = SweepSpec.from_dict({"name": "resume", "base": {**TINY, "train": {**TINY["train"], "epochs": 3}},
                                "search": "grid", "concurrency": 1, "seeds": [1],
                                "early_stopping": False,
                                "space": {"train.lr": [0.08, 0.06, 0.04, 0.03, 0.02, 0.01]}})
    job = SweepJob(spec, tmp_path / "sweep", runs_root=tmp_path / "runs")
    assert job.command.startswith("hqnn sweep ") and "--out" in job.command
    try:
        job.start()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            snap = job.snapshot()
            if any(r.status == "completed" for r in snap.trials) or not snap.active:
                break
            time.sleep(0.5)
        job.stop()
        assert job.join(120), "the driver did not stop"
        stopped = job.snapshot()
        assert stopped.status == "interrupted", job.log_tail()
        assert job.returncode == 130
        kept = {r.trial_id: r for r in stopped.trials if r.status == "completed"}
        assert 1 <= len(kept) <= 6  # a Stop as the last trial ends still stops the sweep
        assert stopped.final == []
        job.resume()
        assert job.join(300), "the resumed driver did not finish"
        done = job.snapshot()
        assert done.status == "completed", job.log_tail()
        assert job.returncode == 0
        assert len(done.trials) == 6 and all(r.status == "completed" for r in done.trials)
        for trial_id, before in kept.items():  # finished trials were not trained again
            after = next(r for r in done.trials if r.trial_id == trial_id)
            assert (after.run_id, after.ended, after.val_acc) == (before.run_id, before.ended,
                                                                    before.val_acc)
        assert len(done.final) == 1 and done.final[0].test_acc is not None
        runs = RunStore(tmp_path / "runs").list(sweep=done.sweep_id)
        assert len(runs) == 7 and all(r.status == "completed" for r in runs)
    finally:
        job.kill()
        assert wait_until_gone(temp) == [], "Ray processes were left running"


class _TuneLikeTuner:
    """Handles SIGINT the way Ray Tune's run loop does: its own handler, which remembers the
    handler it found, sets an event and hands SIGINT back to that handler when it fires."""

    def __init__(self, interrupt: bool) -> None:
        self.interrupt, self.stopped = interrupt, False

    def fit(self) -> None:
        original = signal.getsignal(signal.SIGINT)

        def tune_handler(sig, frame):
            self.stopped = True
            signal.signal(signal.SIGINT, original)

        signal.signal(signal.SIGINT, tune_handler)
        if self.interrupt:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)


def test_a_stop_swallowed_by_tune_still_counts_as_a_stop():
    """Before: Tune ends gracefully on SIGINT and returns normally, so a Stop that came as a
    stage's last trial finished was reported as a completed stage and the next one began."""
    before = signal.getsignal(signal.SIGINT)
    tuner = _TuneLikeTuner(interrupt=True)
    assert _fit(tuner) is True and tuner.stopped
    assert signal.getsignal(signal.SIGINT) is before
    assert _fit(_TuneLikeTuner(interrupt=False)) is False
    assert signal.getsignal(signal.SIGINT) is before


def test_a_restored_trial_whose_run_completed_reports_it_without_training(tmp_path, monkeypatch):
    """Before: a trial that finished just before a Stop was run again on resume; fitting its
    completed folder re-evaluated it and rewrote its metrics (best weights already gone)."""
    from hqnn_core.config import RunConfig
    from hqnn_core.learning import training
    from hqnn_core.learning.checkpoint import METRICS_FILE
    from hqnn_core.sweeps import trial

    reports: list[dict] = []
    monkeypatch.setattr(trial, "_report", reports.append)
    ctx = trial.TrialContext("swtest", str(tmp_path / "runs"), {}, trial.ROLE_FINAL)
    cfg = RunConfig.from_dict(TINY)
    trial._fit_trial(cfg, ctx, "t_00000", {}, 0, {"pid": 1})
    first = reports[-1]
    assert first["finished"] and first["val_acc"] is not None and first["test_acc"] is not None
    metrics_file = tmp_path / "runs" / first["run_id"] / METRICS_FILE
    saved = metrics_file.read_bytes()

    def no_training(*args, **kwargs):
        raise AssertionError("a completed run was fitted again")

    monkeypatch.setattr(training, "fit", no_training)
    trial._fit_trial(cfg, ctx, "t_00000", {}, 0, {"pid": 1})
    assert reports[-1] == first and metrics_file.read_bytes() == saved


class _Trial:
    def __init__(self, trial_id: str) -> None:
        self.trial_id, self.config, self.error_file = trial_id, {"params": {"train.lr": 0.1}}, None


def test_a_restored_trial_keeps_the_row_it_finished_with(tmp_path):
    """Tune starting a finished trial again (restore after a Stop) leaves its row as it was."""
    from hqnn_core.sweeps import run
    from hqnn_core.sweeps.tracker import SweepTracker

    key = str(tmp_path)
    run._TRACKERS[key] = tracker = SweepTracker(tmp_path, "sw", ["train.lr"], 2)
    try:
        callback = run._TrackerCallback(key, "search")
        t = _Trial("t_00001")
        callback.on_trial_start(0, [], t)
        callback.on_trial_result(0, [], t, {"epoch": 1, "val_acc": 0.5, "run_id": "r1"})
        callback.on_trial_result(0, [], t, {"epoch": 1, "val_acc": 0.5, "run_id": "r1",
                                            "finished": True})
        callback.on_trial_complete(0, [], t)
        before = tracker.get("t_00001", "search")
        assert before.status == "completed" and before.ended is not None
        time.sleep(0.01)
        callback.on_trial_start(0, [], t)  # the restored experiment runs it again
        assert tracker.get("t_00001", "search") == before
        callback.on_trial_result(0, [], t, {"epoch": 1, "val_acc": 0.5, "run_id": "r1",
                                            "finished": True})
        callback.on_trial_complete(0, [], t)
        callback.on_trial_error(0, [], t)
        assert tracker.get("t_00001", "search") == before
    finally:
        run._TRACKERS.pop(key, None)
