"""The part every studio job shares: one daemon worker thread beside a lock-protected record.

A subclass implements ``_work`` (the worker's body, which updates its record with
``self._lock`` held) and ``_failed`` (how a failure is recorded); the page thread only
reads consistent copies of the record (``snapshot()``). Every exception the worker raises
ends up as one sentence through ``_failed``, never as a dead thread. Qiskit is imported on
its lasting thread first (``qiskit_thread``), so workers may use it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from hqnn_core.errors import HqnnError
from hqnn_core.qiskit_thread import load_qiskit

log = logging.getLogger(__name__)


def one_sentence(exc: BaseException, what: str) -> str:
    """A user-facing sentence for an exception a worker raised while doing ``what``."""
    if isinstance(exc, HqnnError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{what} failed unexpectedly ({type(exc).__name__}: {text}); see the server log."


class BackgroundJob:
    """A worker thread with a lock for its record; ``_launch`` starts it."""

    what = "The job"  # the failure sentence's subject, e.g. "Training"
    thread_name = "hqnn-job"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker; True if it has finished (or never started)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _launch(self, *args: Any) -> None:
        """Start a new worker thread running ``_work(*args)``."""
        load_qiskit()
        self._thread = threading.Thread(target=self._guarded, args=args, daemon=True,
                                        name=self.thread_name)
        self._thread.start()

    def _guarded(self, *args: Any) -> None:
        try:
            self._work(*args)
        except Exception as exc:  # the worker must report every failure, never die silently
            log.exception("%s failed", self.what)
            self._failed(one_sentence(exc, self.what))

    def _work(self, *args: Any) -> None:
        """The worker's body (in the worker thread)."""
        raise NotImplementedError

    def _failed(self, message: str) -> None:
        """Record the failure sentence ``message`` (in the worker thread)."""
        raise NotImplementedError


def duration(seconds: float) -> str:
    """'42 s', '3 min 5 s', '1 h 2 min'."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
