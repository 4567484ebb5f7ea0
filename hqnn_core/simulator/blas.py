"""Holding NumPy's OpenBLAS to one thread around small, latency-bound NumPy work."""

from __future__ import annotations

import ctypes
import threading
from typing import Callable


class SingleThreadBlas:
    """NumPy's OpenBLAS on one thread while the fused path runs.

    Its matrices are small, and BLAS threads spinning beside torch's OpenMP threads on the
    same cores made two-thread training several times slower. The thread count is
    process-wide, so this is re-entrant and shared: the first thread in saves the count,
    the last one out restores it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._setters: list[Callable[[int], int]] | None = None
        self._saved: list[int] = []

    def __enter__(self) -> None:
        with self._lock:
            if self._setters is None:
                self._setters = _openblas_thread_setters()
            if self._depth == 0:
                self._saved = [setter(1) for setter in self._setters]
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for setter, threads in zip(self._setters or [], self._saved):
                    setter(threads)


def _openblas_thread_setters() -> list[Callable[[int], int]]:
    """``openblas_set_num_threads_local`` (returns the previous count) of each loaded OpenBLAS."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # then BLAS keeps its threads; results are the same
        return []
    setters = []
    for controller in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        setter = getattr(ctypes.CDLL(controller.filepath), "openblas_set_num_threads_local", None)
        if setter is not None:
            setter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
            setters.append(setter)
    return setters


single_thread_blas = SingleThreadBlas()
