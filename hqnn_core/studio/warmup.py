"""Imports a first training run would otherwise make, done once in the background at start.

torch imports ``torch._dynamo`` (and sympy with it, a few seconds of pure Python) the first
time an optimizer is built. In a fresh server where several people press Start at once,
every training worker waited on that one import while the page threads polling their
progress held the interpreter: eight two-qubit runs sat at "Loading data." for minutes.
:func:`start` makes the import on a daemon thread when the studio starts, before anyone
trains; a worker that comes earlier simply waits for it, as it did before.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

_started = threading.Event()
_done = threading.Event()


def _imports() -> None:
    try:
        import torch._dynamo  # noqa: F401  (what torch.optim.Optimizer.__init__ imports)
    except Exception:  # a failed warm-up only costs the first run the time it saves
        log.exception("warm-up import failed")
    finally:
        _done.set()


def start() -> threading.Event:
    """Start the warm-up imports once (later calls do nothing); the event is set when done."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_imports, name="hqnn-warmup", daemon=True).start()
    return _done
