"""The driver's record of a running sweep: rows, progress, ETA, events and files.

Ray Tune calls :class:`SweepTracker`'s methods (through the Tune callback in
:mod:`hqnn_core.sweeps.run`) from the driver; readers call :meth:`SweepTracker.snapshot`,
which copies everything under a lock. Every change is also written to the sweep folder
(``results.json``/``.csv``, ``final.json`` and ``progress.json``, atomically), so another
process — the studio's :class:`~hqnn_core.studio.sweep_job.SweepJob` — can follow a sweep
by reading files alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from hqnn_core.learning.checkpoint import atomic_write_json, read_json
from hqnn_core.sweeps.results import (FINAL_JSON, FINISHED, RESULTS_JSON, TrialRow, chosen,
                                      read_rows, write_rows)

PROGRESS_JSON = "progress.json"
SWEEP_STATUSES = ("starting", "running", "interrupted", "completed", "failed")
STAGES = ("search", "final")
WRITE_EVERY_S = 1.0


@dataclass(frozen=True)
class SweepEvent:
    """One progress report: ``kind`` is start | trial | stage | end; ``row`` for trial events."""

    kind: str
    stage: str
    row: TrialRow | None = None
    message: str = ""
    total: int | None = None  # trials of this stage, when known


@dataclass(frozen=True)
class SweepSnapshot:
    """A consistent copy of a sweep's state, safe to read from any thread or process."""

    status: str
    stage: str
    trials: list[TrialRow]
    final: list[TrialRow]
    n_total: int | None
    elapsed: float
    eta_seconds: float | None
    message: str = ""
    error: str | None = None
    sweep_id: str = ""
    keys: list[str] = field(default_factory=list)

    @property
    def n_finished(self) -> int:
        return sum(r.status in FINISHED for r in self.trials)

    @property
    def n_running(self) -> int:
        return sum(r.status == "running" for r in self.trials)

    @property
    def best(self) -> TrialRow | None:
        """The selected trial: the best by validation, or the best finalist over its seeds."""
        return chosen(self.trials, self.final)[0]

    @property
    def chosen_final(self) -> list[TrialRow]:
        """The final re-training rows of the selected configuration."""
        return chosen(self.trials, self.final)[1]

    @property
    def fraction(self) -> float | None:
        """Share of the search done (None when only a time budget bounds it)."""
        if not self.n_total:
            return None
        return min(1.0, self.n_finished / self.n_total)

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "stage": self.stage, "n_total": self.n_total,
                "elapsed": self.elapsed, "eta_seconds": self.eta_seconds,
                "message": self.message, "error": self.error, "sweep_id": self.sweep_id,
                "keys": self.keys, "n_finished": self.n_finished, "updated": time.time()}

    @classmethod
    def read(cls, folder: str | Path) -> "SweepSnapshot":
        """The last state a sweep driver wrote into ``folder`` (its files only)."""
        folder = Path(folder)
        info: dict[str, Any] = {}
        if (folder / PROGRESS_JSON).is_file():
            info = read_json(folder / PROGRESS_JSON)
        return cls(status=info.get("status", "starting"), stage=info.get("stage", "search"),
                   trials=read_rows(folder), final=read_rows(folder, FINAL_JSON),
                   n_total=info.get("n_total"), elapsed=float(info.get("elapsed", 0.0)),
                   eta_seconds=info.get("eta_seconds"), message=info.get("message", ""),
                   error=info.get("error"), sweep_id=info.get("sweep_id", ""),
                   keys=list(info.get("keys", [])))


class SweepTracker:
    """Thread-safe record of one sweep, mirrored into its folder and sent to callbacks."""

    def __init__(self, folder: Path, sweep_id: str, keys: Sequence[str], n_total: int | None,
                 *, n_final: int = 0, budget_s: float | None = None,
                 callbacks: Sequence[Callable[[SweepEvent], None]] = ()) -> None:
        self.folder = Path(folder)
        self.sweep_id = sweep_id
        self.keys = list(keys)
        self.n_total = n_total
        self.n_final = n_final
        self.budget_s = budget_s
        self._callbacks = tuple(callbacks)
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, TrialRow]] = {
            "search": {r.trial_id: r for r in read_rows(self.folder)},
            "final": {r.trial_id: r for r in read_rows(self.folder, FINAL_JSON)}}
        self._stage = "search"
        self._status = "starting"
        self._message = "Starting Ray."
        self._error: str | None = None
        self._elapsed0 = 0.0
        if (self.folder / PROGRESS_JSON).is_file():  # a resumed sweep keeps counting time
            self._elapsed0 = float(read_json(self.folder / PROGRESS_JSON).get("elapsed", 0.0))
        self._t0 = time.monotonic()
        self._stage_t0 = self._t0
        self._stage_done0 = 0
        self._last_write = 0.0

    # -- reading -----------------------------------------------------------------------

    def rows(self, stage: str = "search") -> list[TrialRow]:
        with self._lock:
            return [TrialRow.from_dict(r.to_dict()) for r in self._rows[stage].values()]

    def snapshot(self) -> SweepSnapshot:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> SweepSnapshot:
        copy = lambda stage: [TrialRow.from_dict(r.to_dict()) for r in self._rows[stage].values()]
        return SweepSnapshot(status=self._status, stage=self._stage, trials=copy("search"),
                             final=copy("final"), n_total=self.n_total, elapsed=self._elapsed(),
                             eta_seconds=self._eta(), message=self._message, error=self._error,
                             sweep_id=self.sweep_id, keys=list(self.keys))

    def _elapsed(self) -> float:
        return self._elapsed0 + time.monotonic() - self._t0

    def _eta(self) -> float | None:
        """Seconds left in this stage, from this session's pace (capped by the time budget)."""
        if self._status != "running":
            return None
        rows = self._rows[self._stage].values()
        done = sum(r.status in FINISHED for r in rows)
        total = self.n_total if self._stage == "search" else self.n_final
        eta = None
        if total and done > self._stage_done0:
            pace = (time.monotonic() - self._stage_t0) / (done - self._stage_done0)
            eta = max(0.0, pace * (total - done))
        if self._stage == "search" and self.budget_s is not None:
            left = max(0.0, self.budget_s - self._elapsed())
            eta = left if eta is None else min(eta, left)
        return eta

    # -- writing -----------------------------------------------------------------------

    def set_status(self, status: str, message: str = "", *, stage: str | None = None,
                   error: str | None = None) -> None:
        with self._lock:
            self._status = status
            self._message = message or self._message
            self._error = error
            if stage is not None and stage != self._stage:
                self._stage = stage
                self._stage_t0 = time.monotonic()
                self._stage_done0 = sum(r.status in FINISHED for r in self._rows[stage].values())
            elif status == "running" and self._stage_t0 == self._t0:
                self._stage_done0 = sum(r.status in FINISHED
                                        for r in self._rows[self._stage].values())
            self._write(force=True)
        kind = "end" if status in ("interrupted", "completed", "failed") else "stage"
        total = self.n_total if self._stage == "search" else self.n_final
        self._emit(SweepEvent(kind, self._stage, message=message, total=total))

    def update(self, trial_id: str, stage: str, force: bool = False, **changes: Any) -> TrialRow:
        """Create or change the row of ``trial_id``; returns a copy of it."""
        with self._lock:
            row = self._rows[stage].get(trial_id)
            if row is None:
                row = self._rows[stage][trial_id] = TrialRow(trial_id=trial_id, params={})
            for key, value in changes.items():
                setattr(row, key, value)
            copy = TrialRow.from_dict(row.to_dict())
            self._write(force=force)
        self._emit(SweepEvent("trial", stage, row=copy))
        return copy

    def get(self, trial_id: str, stage: str) -> TrialRow | None:
        with self._lock:
            row = self._rows[stage].get(trial_id)
            return TrialRow.from_dict(row.to_dict()) if row else None

    def _write(self, force: bool = False) -> None:
        """Mirror the state into the folder (lock held); throttled unless ``force``."""
        now = time.monotonic()
        if not force and now - self._last_write < WRITE_EVERY_S:
            return
        self._last_write = now
        write_rows(self.folder, list(self._rows["search"].values()), self.keys)
        if self._rows["final"]:
            write_rows(self.folder, list(self._rows["final"].values()), self.keys,
                       json_name=FINAL_JSON, csv_name="final.csv")
        atomic_write_json(self.folder / PROGRESS_JSON, self._snapshot().to_dict())

    def flush(self) -> None:
        with self._lock:
            self._write(force=True)

    def _emit(self, event: SweepEvent) -> None:
        for cb in self._callbacks:
            cb(event)


__all__ = ["SweepEvent", "SweepSnapshot", "SweepTracker", "PROGRESS_JSON", "RESULTS_JSON"]
