"""Load Qiskit's native module on a thread that lives as long as the process.

Qiskit 2.6's Rust extension (``qiskit._accelerate``) keeps per-thread state of the thread
that first imports it: if that thread exits, later use from any other thread segfaults
(reproduced here: import in a short-lived thread, then build a circuit in another one).
Streamlit runs every script run on a fresh short-lived thread, so the studio calls
:func:`load_qiskit` before anything imports qiskit; the CLI imports it on the main thread
and needs nothing. Calling it again is free.
"""

from __future__ import annotations

import logging
import sys
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded = threading.Event()
_error: list[BaseException] = []


def _keeper() -> None:
    try:
        import qiskit  # noqa: F401  (imports qiskit._accelerate on this lasting thread)
    except BaseException as exc:  # reported to the caller; nothing else to do here
        _error.append(exc)
    finally:
        _loaded.set()
    threading.Event().wait()  # never returns: the thread must outlive every qiskit user


def load_qiskit() -> None:
    """Import qiskit on a lasting daemon thread (unless the main thread may import it)."""
    with _lock:
        if _loaded.is_set():
            return
        if "qiskit._accelerate" in sys.modules:
            _loaded.set()
            return
        if threading.current_thread() is threading.main_thread():
            import qiskit  # noqa: F401

            _loaded.set()
            return
        threading.Thread(target=_keeper, name="hqnn-qiskit-keeper", daemon=True).start()
        _loaded.wait()
    if _error:
        raise _error[0]
    log.debug("qiskit loaded on a lasting thread")
