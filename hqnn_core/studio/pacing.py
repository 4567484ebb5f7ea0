"""Models trained side by side keep in step: none starts an epoch the others have not reached.

A training job trains the quantum model and its classical twin at the same time, each
``fit`` in its own thread. The twin is a few times faster, so left alone it would finish
while the quantum model is still in its first epochs, and the two live learning maps would
not move together. ``EpochPacer.callback(label)`` is one more ``fit`` callback: at the end
of each epoch it waits until every other model still training has finished that epoch too.
It never waits for a model that has left (finished, stopped early or failed), and Stop wakes
it at once (``wake``), so a waiting model reaches its next batch, sees the stop event and
saves its checkpoint like one that was training.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping


class EpochPacer:
    """Holds each model at the end of an epoch until the others have finished it too."""

    def __init__(self, epochs_done: Mapping[str, int], stop: threading.Event) -> None:
        """``epochs_done``: each model's finished epochs so far (a resumed job's history)."""
        self._done = dict(epochs_done)
        self._left: set[str] = set()
        self._stop = stop
        self._cond = threading.Condition()

    def callback(self, label: str) -> Callable[[Any], None]:
        """The ``fit`` callback of model ``label`` (called in that model's thread)."""
        def on_event(event: Any) -> None:
            if event.kind == "epoch":
                self.finished_epoch(label, event.epoch + 1)
        return on_event

    def finished_epoch(self, label: str, epochs: int) -> None:
        """``label`` has finished ``epochs`` epochs: wait until every other model has too."""
        with self._cond:
            self._done[label] = epochs
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._stop.is_set() or all(
                done >= epochs or other in self._left for other, done in self._done.items()))

    def leave(self, label: str) -> None:
        """``label`` trains no more (finished, stopped or failed): nobody waits for it."""
        with self._cond:
            self._left.add(label)
            self._cond.notify_all()

    def wake(self) -> None:
        """Let every waiting model go on (Stop was pressed: they stop at their next batch)."""
        with self._cond:
            self._cond.notify_all()
