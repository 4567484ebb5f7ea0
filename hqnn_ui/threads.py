"""Keep qiskit's first import in a thread that lives as long as the server.

qiskit 2.6.2 crashes the process (segmentation fault) when it was first imported in a
thread that has since exited and is then used from another thread: creating a
``ParameterVector`` is enough. Streamlit runs every script run in a new thread, so the
first page to import qiskit would leave the server one rerun away from a crash.
Importing qiskit here, in a daemon thread that never ends, keeps that thread alive.
A no-op when qiskit was already imported (e.g. by the main thread).
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

_MODULES = ("qiskit", "qiskit.circuit", "qiskit.quantum_info")
_ready = threading.Event()
_lock = threading.Lock()
_started = False


def _import_and_stay(modules: tuple[str, ...]) -> None:
    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        log.exception("qiskit could not be imported")
    finally:
        _ready.set()
    threading.Event().wait()


def import_qiskit_in_lasting_thread() -> None:
    """Import qiskit from a daemon thread that never exits, and wait until it is loaded."""
    global _started
    with _lock:
        if not _started:
            _started = True
            threading.Thread(target=_import_and_stay, args=(_MODULES,), daemon=True,
                             name="hqnn-qiskit-import").start()
    _ready.wait()
