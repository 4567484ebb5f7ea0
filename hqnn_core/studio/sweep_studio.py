"""What the Sweep screen needs from the core: a spec from a few choices, one sweep per browser,
and what is shown of a sweep (its best configuration, the top trials' histories, a comparison).

A spec is built from the studio's current configuration (the base) and :class:`Dimension`
choices (:func:`build_spec`), or read from pasted JSON (:func:`parse_spec_text`); both give a
validated :class:`~hqnn_core.sweeps.spec.SweepSpec` or, when the spec names a ``baseline``, a
:class:`~hqnn_core.sweeps.compare.CompareSpec`, or raise ``ConfigError`` with one sentence.
:class:`SweepRegistry` maps a browser's secret key to its latest sweep job, so a sweep keeps
running while the person switches pages and no other browser can see or stop it. A sweep runs
as a child ``hqnn sweep`` (or ``hqnn compare``) process; nothing here imports Ray or Streamlit.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from hqnn_core import config as C
from hqnn_core.config import RunConfig
from hqnn_core.errors import ConfigError, HqnnError, RunError
from hqnn_core.learning.checkpoint import METRICS_FILE, read_json
from hqnn_core.studio.background import duration
from hqnn_core.studio.sweep_job import SweepJob
from hqnn_core.sweeps.compare import ARMS, COMPARE_JSON, CompareSpec
from hqnn_core.sweeps.results import TrialRow
from hqnn_core.sweeps.spec import SweepSpec
from hqnn_core.sweeps.tracker import SweepSnapshot

#: Config keys offered by the spec builder: ("choice", values) or ("int"|"float"|"log", low, high).
TUNABLE: dict[str, tuple[Any, ...]] = {
    "train.lr": ("log", 0.001, 0.05),
    "train.epochs": ("int", 2, 10),
    "train.batch_size": ("choice", (16, 32, 64, 128)),
    "train.weight_decay": ("log", 1e-6, 1e-2),
    "train.optimizer": ("choice", C.OPTIMIZERS),
    "train.schedule": ("choice", C.SCHEDULES),
    "circuit.n_qubits": ("int", 3, 8),
    "circuit.layers": ("int", 1, 4),
    "circuit.encoding": ("choice", C.ENCODINGS),
    "circuit.ansatz": ("choice", C.ANSATZE),
    "circuit.entanglement": ("choice", C.ENTANGLEMENTS),
    "circuit.measurement": ("choice", C.MEASUREMENTS),
    "circuit.reupload": ("choice", (False, True)),
    "circuit.init": ("choice", C.INITS),
    "model.front": ("choice", C.FRONTS),
    "model.hidden": ("choice", (0, 16, 32, 64)),
    "model.dropout": ("float", 0.0, 0.5),
}
BASELINES = ("logistic", "mlp")


@dataclass(frozen=True)
class Dimension:
    """One dimension chosen on the screen: ``values`` for a choice, else ``low``..``high``."""

    key: str
    kind: str  # choice | range | log_range
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    steps: int | None = None

    def to_space(self) -> Any:
        """The JSON form of this dimension in a spec's ``space``."""
        if self.kind == "choice":
            return list(self.values)
        out: dict[str, Any] = {self.kind: [self.low, self.high]}
        if self.steps:
            out["steps"] = self.steps
        return out


def build_spec(base: RunConfig, dims: Sequence[Dimension], *, name: str = "studio",
               search: str = "random", trials: int | None = 8, minutes: float | None = None,
               early_stopping: bool = True, seeds: Sequence[int] = (1, 2, 3),
               finalists: int = 1, baseline: str | None = None) -> SweepSpec | CompareSpec:
    """A validated spec: ``base`` searched over ``dims``; a comparison when ``baseline`` is set."""
    data: dict[str, Any] = {
        "name": name, "base": base.to_dict(), "space": {d.key: d.to_space() for d in dims},
        "search": search, "trials": None if search == "grid" else trials, "minutes": minutes,
        "early_stopping": early_stopping, "seeds": list(seeds), "finalists": finalists}
    if baseline is not None:
        data["baseline"] = baseline
    return spec_from_dict(data)


def spec_from_dict(data: Any) -> SweepSpec | CompareSpec:
    """A sweep spec, or a comparison spec when ``data`` names a ``baseline``."""
    if isinstance(data, Mapping) and ("baseline" in data or "baseline_space" in data):
        return CompareSpec.from_dict(data)
    return SweepSpec.from_dict(data)


def parse_spec_text(text: str) -> SweepSpec | CompareSpec:
    """The spec in pasted JSON; ``ConfigError`` with one sentence if it is not valid."""
    if not text.strip():
        raise ConfigError("Paste a sweep specification (a JSON object with 'base' and 'space').")
    return spec_from_dict(C.parse_json_text(text, "The specification"))


def spec_json(spec: SweepSpec | CompareSpec) -> str:
    """The spec as the JSON a person would paste or save."""
    return json.dumps(spec.to_dict(), indent=2)


class _CompareFile:
    """Lets :class:`SweepJob` write a comparison spec as its ``spec.json``."""

    def __init__(self, spec: CompareSpec) -> None:
        self.spec = spec

    def to_json(self) -> str:
        return spec_json(self.spec)


class CompareJob(SweepJob):
    """``hqnn compare`` as a child process: one sweep per arm in ``<folder>/<arm>/``."""

    def __init__(self, spec: CompareSpec, folder: str | Path, *,
                 runs_root: str | Path | None = None, address: str | None = None) -> None:
        super().__init__(_CompareFile(spec), folder, runs_root=runs_root,  # type: ignore[arg-type]
                         address=address)
        self.compare = spec

    def args(self, resume: bool = False) -> list[str]:
        return ["compare", *super().args(resume)[1:]]

    def current_arm(self) -> str:
        """The arm being tuned now (the last one whose folder the driver has started)."""
        started = [arm for arm in ARMS if (self.folder / arm / "progress.json").is_file()]
        return started[-1] if started else ARMS[0]

    def arm_snapshot(self, arm: str) -> SweepSnapshot:
        """What the folder of one arm shows."""
        return SweepSnapshot.read(self.folder / arm)

    def snapshot(self) -> SweepSnapshot:
        """The current arm, with the driver's fate; completed only once compare.json is there."""
        arm = self.current_arm()
        snap = SweepSnapshot.read(self.folder / arm)
        code = self.returncode
        done = (self.folder / COMPARE_JSON).is_file()
        status = snap.status
        if code is None and status in ("completed", "interrupted") and not done:
            status = "running"  # between arms, or writing the table
        elif code == 0 and done:
            status = "completed"
        elif code is not None and status in ("starting", "running", "completed"):
            status = "interrupted" if code == 130 or self._stopping else "failed"
        message = f"{arm}: {snap.message}" if snap.message else arm
        error = snap.error
        if status == "failed" and error is None:
            tail = [ln for ln in self.log_tail() if ln.strip()]
            error = tail[-1] if tail else f"The comparison driver exited with code {code}."
            message = error
        return SweepSnapshot(status=status, stage=snap.stage, trials=snap.trials, final=snap.final,
                             n_total=snap.n_total, elapsed=snap.elapsed,
                             eta_seconds=snap.eta_seconds, message=message, error=error,
                             sweep_id=snap.sweep_id, keys=snap.keys)



def default_sweeps_root(runs_root: Path) -> Path:
    """Where the studio keeps sweep folders: ``HQNN_SWEEPS_DIR``, else ``sweeps/`` beside the runs."""
    env = os.environ.get("HQNN_SWEEPS_DIR")
    return Path(env) if env else Path(runs_root).resolve().parent / "sweeps"


def new_job(spec: SweepSpec | CompareSpec, sweeps_root: Path, runs_root: Path) -> SweepJob:
    """A job (not started) for ``spec`` in a new folder ``<sweeps_root>/<name>-<time>-<hex>``."""
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.name)[:32]
    folder = (Path(sweeps_root) / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-"
                                  f"{uuid.uuid4().hex[:4]}").resolve()
    runs = Path(runs_root).resolve()
    if isinstance(spec, CompareSpec):
        return CompareJob(spec, folder, runs_root=runs)
    return SweepJob(spec, folder, runs_root=runs)


class SweepRegistry:
    """Thread-safe map from a browser's secret key to its latest sweep job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, SweepJob] = {}

    def get(self, session: str) -> SweepJob | None:
        """The browser's latest sweep (running or ended), or None."""
        with self._lock:
            return self._jobs.get(session)

    def start(self, session: str, spec: SweepSpec | CompareSpec, sweeps_root: Path,
              runs_root: Path) -> SweepJob:
        """Start a sweep for ``session``; ``HqnnError`` while its last one still runs."""
        with self._lock:
            current = self._jobs.get(session)
            if current is not None and current.returncode is None:
                raise HqnnError("A sweep is already running in this browser; stop it before "
                                "starting another.")
            job = new_job(spec, sweeps_root, runs_root)
            job.start()
            self._jobs[session] = job
            return job

    def stop_all(self) -> None:
        """End every sweep at once (tests; the server's exit)."""
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            job.kill()


_REGISTRY = SweepRegistry()


def get_sweep_registry() -> SweepRegistry:
    """The process-wide sweep registry."""
    return _REGISTRY


def is_compare(job: SweepJob) -> bool:
    return isinstance(job, CompareJob)


def best_config(job: SweepJob, snap: SweepSnapshot | None = None) -> RunConfig | None:
    """The run configuration of the best trial so far (the hybrid arm's for a comparison)."""
    if isinstance(job, CompareJob):
        spec, best = job.compare.arms["hybrid"], job.arm_snapshot("hybrid").best
    else:
        spec, best = job.spec, (snap or job.snapshot()).best
    if best is None:
        return None
    return spec.config_for(best.params)


def top_trials(rows: Sequence[TrialRow], n: int = 3) -> list[TrialRow]:
    """The ``n`` finished trials with the highest validation accuracy (with a run folder)."""
    scored = [r for r in rows if r.run_id and r.status in ("completed", "early-stopped")
              and (r.best_val_acc is not None or r.val_acc is not None)]
    return sorted(scored, key=lambda r: -(r.best_val_acc if r.best_val_acc is not None
                                          else r.val_acc or 0.0))[:n]


def trial_label(row: TrialRow, keys: Sequence[str]) -> str:
    """A short label of a trial: its id and parameter values."""
    parts = [f"{k.split('.', 1)[-1]}={_short(row.params.get(k))}" for k in keys]
    return f"{row.trial_id} ({', '.join(parts)})" if parts else row.trial_id


def top_histories(snap: SweepSnapshot, runs_root: Path, n: int = 3) -> dict[str, dict[str, Any]]:
    """label -> the metrics history (batch/epoch rows) of the top ``n`` trials' run folders."""
    out: dict[str, dict[str, Any]] = {}
    for row in top_trials(snap.trials, n):
        try:
            history = read_json(Path(runs_root) / str(row.run_id) / METRICS_FILE).get("history")
        except RunError:
            continue
        if history:
            out[trial_label(row, snap.keys)] = history
    return out


def progress_line(snap: SweepSnapshot) -> str:
    """'3 of 8 trials · 1 running · best validation 91.2% · about 2 min left'."""
    if snap.stage == "final":
        done = sum(r.test_acc is not None for r in snap.final)
        text = (f"{snap.n_finished} trials · retrained {done} of "
                f"{len(snap.final) or '?'} (configuration, seed) runs")
    else:
        total = snap.n_total if snap.n_total is not None else "?"
        text = f"{snap.n_finished} of {total} trials"
        if snap.n_running:
            text += f" · {snap.n_running} running"
    best = snap.best
    if best is not None and best.val_acc is not None:
        text += f" · best validation {best.val_acc:.1%}"
    text += f" · {duration(snap.elapsed)} elapsed"
    if snap.eta_seconds is not None and snap.active:
        text += f" · about {duration(snap.eta_seconds)} left"
    return text


def progress_fraction(snap: SweepSnapshot, minutes: float | None) -> float:
    """Share of the search done, from the trial count or else the time budget."""
    if snap.status == "completed":
        return 1.0
    if snap.fraction is not None:
        return snap.fraction
    if minutes:
        return min(1.0, snap.elapsed / (60 * minutes))
    return 0.0


def budget_minutes(job: SweepJob) -> float | None:
    spec = job.compare.arms["hybrid"] if isinstance(job, CompareJob) else job.spec
    return spec.minutes


def compare_table(job: SweepJob) -> tuple[list[dict[str, Any]], list[str]] | None:
    """Rows (arm, trials, best validation, test mean ± std, per seed, parameters, train s)
    and the paired differences as sentences, from compare.json; None before it exists."""
    if not isinstance(job, CompareJob) or not (job.folder / COMPARE_JSON).is_file():
        return None
    data = read_json(job.folder / COMPARE_JSON)
    rows = []
    for arm, a in data.get("arms", {}).items():
        mean, std = a.get("test_mean"), a.get("test_std")
        rows.append({
            "model": arm, "trials": a.get("trials"),
            "best validation": _pct(a.get("best_val_acc")),
            "test (mean ± std)": "—" if mean is None else f"{100 * mean:.2f}% ± {100 * std:.2f}",
            "per seed": ", ".join(f"{s}: {100 * v:.2f}%" for s, v in
                                  sorted((a.get("test_by_seed") or {}).items())) or "—",
            "parameters": a.get("parameters"),
            "train s": None if a.get("train_seconds") is None else round(a["train_seconds"], 1),
            "best configuration": ", ".join(f"{k}={_short(v)}" for k, v in
                                            sorted((a.get("best_params") or {}).items())) or "base"})
    lines = []
    for name, d in data.get("differences", {}).items():
        if d.get("low") is None:
            lines.append(f"{name}: {100 * d['mean']:+.2f} points (one seed, no interval).")
        else:
            lines.append(f"{name}: {100 * d['mean']:+.2f} points, 95% interval "
                         f"[{100 * d['low']:+.2f}, {100 * d['high']:+.2f}] (paired over "
                         f"{d['n']} seeds).")
    return rows, lines


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _short(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.3g}"
    return str(value)
