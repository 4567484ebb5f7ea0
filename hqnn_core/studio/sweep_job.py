"""Sweeps for the UI: ``hqnn sweep`` as a child process, followed through its sweep folder.

A :class:`SweepJob` writes the spec to ``<folder>/spec.json`` and starts
``python -m hqnn_core sweep <folder>/spec.json --out <folder> --quiet`` (the same command a
person would type; :attr:`SweepJob.command` shows it). The driver owns Ray; the studio never
imports it. :meth:`SweepJob.stop` sends SIGINT, Tune's own graceful stop, so finished trials
are kept and :meth:`SweepJob.resume` continues with ``--resume``. :meth:`SweepJob.snapshot`
reads the files the driver writes atomically (``progress.json``, ``results.json``,
``final.json``), so it is safe from any thread, and works for a sweep started elsewhere
(:meth:`SweepJob.attach`). Nothing here imports streamlit or ray.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from hqnn_core.errors import HqnnError
from hqnn_core.sweeps.spec import SweepSpec
from hqnn_core.sweeps.tracker import SweepSnapshot

SPEC_FILE, LOG_FILE = "spec.json", "driver.log"
EXIT_INTERRUPTED = 130


class SweepJob:
    """One sweep driven by a child ``hqnn sweep`` process."""

    def __init__(self, spec: SweepSpec, folder: str | Path, *, runs_root: str | Path | None = None,
                 address: str | None = None) -> None:
        self.spec = spec
        self.folder = Path(folder)
        self.runs_root = Path(runs_root) if runs_root is not None else None
        self.address = address
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = False

    @classmethod
    def attach(cls, folder: str | Path) -> "SweepJob":
        """A job object for an existing sweep folder (to read it, or resume it)."""
        folder = Path(folder)
        return cls(SweepSpec.from_json(folder / SPEC_FILE), folder)

    def args(self, resume: bool = False) -> list[str]:
        """The ``hqnn`` arguments of this sweep."""
        out = ["sweep", str(self.folder / SPEC_FILE), "--out", str(self.folder)]
        if self.runs_root is not None:
            out += ["--runs", str(self.runs_root)]
        if self.address:
            out += ["--address", self.address]
        return out + (["--resume"] if resume else [])

    @property
    def command(self) -> str:
        """The command line that runs this sweep from a terminal."""
        return shlex.join(["hqnn", *self.args()])

    def start(self, resume: bool = False) -> None:
        """Start the driver process (``resume``: continue the sweep in the folder)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                raise HqnnError("This sweep is already running.")
            self.folder.mkdir(parents=True, exist_ok=True)
            spec_path = self.folder / SPEC_FILE
            if not resume or not spec_path.exists():
                spec_path.write_text(self.spec.to_json(), encoding="utf-8")
            root = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            log = open(self.folder / LOG_FILE, "ab")
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "hqnn_core", *self.args(resume), "--quiet"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    start_new_session=True)
            finally:
                log.close()
            self._stopping = False

    def resume(self) -> None:
        """Continue a stopped (interrupted) sweep."""
        if self.snapshot().status not in ("interrupted", "failed"):
            raise HqnnError("Only an interrupted sweep can be resumed.")
        self.start(resume=True)

    def stop(self) -> None:
        """Ask the driver to stop gracefully (SIGINT); returns at once."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None and not self._stopping:
                self._stopping = True
                self._proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        """End the driver at once (its Ray goes with it; finished trials stay on disk)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the driver; True when it has exited."""
        proc = self._proc
        if proc is None:
            return True
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def log_tail(self, lines: int = 20) -> Sequence[str]:
        """The last lines of the driver's output."""
        path = self.folder / LOG_FILE
        if not path.is_file():
            return []
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]

    def snapshot(self) -> SweepSnapshot:
        """The sweep as its files show it, with the driver process's fate folded in."""
        snap = SweepSnapshot.read(self.folder)
        code = self.returncode
        if code is None:
            if self._proc is not None and self._stopping and snap.active:
                return replace(snap, message="Stopping: finishing the running trials' state.")
            return snap
        if snap.active or (code not in (0, EXIT_INTERRUPTED) and snap.status != "failed"):
            if code == EXIT_INTERRUPTED or self._stopping:
                return replace(snap, status="interrupted", message="Stopped; resume to continue.")
            tail = [ln for ln in self.log_tail() if ln.strip()]
            error = tail[-1] if tail else f"The sweep driver exited with code {code}."
            return replace(snap, status="failed", message=error, error=error)
        return snap
