"""Circuit diagnostics as a background job, shared by every session that asks for them.

``diagnostics_job(circuit)`` returns the (process-wide, cached) ``DiagnosticsJob`` of the
circuit's *family* — its encoding, ansatz, entanglement and readout at capped sizes — and
starts it the first time; the page polls ``snapshot()`` and never computes on its thread.
The work is bounded: a gradient-variance sweep over ``QUBITS`` x ``DEPTHS`` with
``GRADIENT_SAMPLES`` random initialisations, and expressibility / entangling capability
at up to ``EXPRESSIBILITY_QUBITS`` qubits for depths 1..max(4, layers) (at most
``MAX_DEPTH``) from ``PAIRS`` random pairs.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from hqnn_core.config import CircuitConfig
from hqnn_core.studio.background import BackgroundJob

QUBITS = (2, 4, 6, 8, 10)
AMPLITUDE_QUBITS = (2, 4, 6, 8)  # 2**n - 1 input angles make larger sweeps slow
DEPTHS = (1, 2, 4, 8)
GRADIENT_SAMPLES = 100
PAIRS = 1000
MAX_DEPTH = 8
EXPRESSIBILITY_QUBITS = 6  # beyond this Haar's fidelities all fall in the first of 75 bins
MAX_JOBS = 16


def sized(circuit: CircuitConfig) -> CircuitConfig:
    """The circuit at the size its expressibility is computed (the job's key)."""
    return dataclasses.replace(circuit, n_qubits=min(circuit.n_qubits, EXPRESSIBILITY_QUBITS),
                               layers=min(circuit.layers, MAX_DEPTH))


def sweep_qubits(circuit: CircuitConfig) -> tuple[int, ...]:
    """The qubit counts of the gradient sweep for this encoding."""
    return AMPLITUDE_QUBITS if circuit.encoding == "amplitude" else QUBITS


@dataclass(frozen=True)
class DiagnosticsSnapshot:
    """Where the job is: steps done of total, the results so far, or the failure."""

    done: int
    total: int
    seconds: float
    error: str | None = None
    gradients: list[list[float]] | None = None  # (len(qubits), len(DEPTHS)) when finished
    expressibility: dict[str, Any] = field(default_factory=dict)  # layers, kl, entangling, ...

    @property
    def finished(self) -> bool:
        """True once every step is done (or the job failed)."""
        return self.error is not None or self.done >= self.total


class DiagnosticsJob(BackgroundJob):
    """Gradient variance and expressibility of one circuit family, in a worker thread."""

    what = "The circuit diagnostics"
    thread_name = "hqnn-diagnostics"

    def __init__(self, circuit: CircuitConfig) -> None:
        super().__init__()
        self.circuit = sized(circuit)
        self.qubits = sweep_qubits(circuit)
        self.depths = list(range(1, max(4, self.circuit.layers) + 1))
        self._total = len(self.qubits) * len(DEPTHS) + len(self.depths)
        self._done = 0
        self._started = time.monotonic()
        self._seconds = 0.0
        self._error: str | None = None
        self._grid: list[list[float]] = [[0.0] * len(DEPTHS) for _ in self.qubits]
        self._expr: dict[str, Any] = {"layers": self.depths, "kl": [], "entangling": []}

    def start(self) -> "DiagnosticsJob":
        """Start the worker (once)."""
        with self._lock:
            if self._thread is None:
                self._started = time.monotonic()
                self._launch()
        return self

    def snapshot(self) -> DiagnosticsSnapshot:
        """A consistent copy of the progress and results."""
        with self._lock:
            done = self._done >= self._total
            seconds = self._seconds if done else time.monotonic() - self._started
            return DiagnosticsSnapshot(
                done=self._done, total=self._total, seconds=seconds, error=self._error,
                gradients=[list(r) for r in self._grid] if done else None,
                expressibility=dict(self._expr) if done else {})

    def _step(self) -> None:
        with self._lock:
            self._done += 1
            self._seconds = time.monotonic() - self._started

    def _work(self) -> None:
        from hqnn_core.diagnostics.expressibility import expressibility
        from hqnn_core.diagnostics.gradients import gradient_variance

        for i, n in enumerate(self.qubits):
            for j, depth in enumerate(DEPTHS):
                cfg = dataclasses.replace(self.circuit, n_qubits=n, layers=depth)
                value = gradient_variance(cfg, n_samples=GRADIENT_SAMPLES).variance
                with self._lock:
                    self._grid[i][j] = value
                self._step()
        for depth in self.depths:
            result = expressibility(dataclasses.replace(self.circuit, layers=depth),
                                    n_pairs=PAIRS)
            with self._lock:
                self._expr["kl"].append(result.kl)
                self._expr["entangling"].append(result.entangling)
                if depth == self.circuit.layers:
                    self._expr["fidelities"] = result.fidelities
            self._step()

    def _failed(self, message: str) -> None:
        with self._lock:
            self._error = message


_JOBS: OrderedDict[str, DiagnosticsJob] = OrderedDict()
_JOBS_LOCK = threading.Lock()


def diagnostics_job(circuit: CircuitConfig, *, start: bool = True) -> DiagnosticsJob | None:
    """The shared job of ``circuit``'s family: started when ``start``, else None if none yet.

    At most ``MAX_JOBS`` are kept (the least recently asked for goes first); a failed job is
    replaced by a new one on the next start.
    """
    key = json.dumps(sized(circuit).to_dict(), sort_keys=True)
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is not None and job.snapshot().error is not None and start:
            job = None
        if job is None:
            if not start:
                return None
            job = _JOBS[key] = DiagnosticsJob(circuit)
            while len(_JOBS) > MAX_JOBS:
                _JOBS.popitem(last=False)
        _JOBS.move_to_end(key)
    return job.start() if start else job
