"""The OpenBLAS guard of the fused path: one thread inside, the old count restored after."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info

from hqnn_core.simulator.blas import single_thread_blas


def openblas_threads() -> list[int]:
    np.ones(2) @ np.ones(2)  # NumPy's OpenBLAS is loaded
    return [info["num_threads"] for info in threadpool_info() if info["internal_api"] == "openblas"]


def test_guard_holds_one_thread_and_restores_the_count() -> None:
    before = openblas_threads()
    assert before
    with single_thread_blas:
        with single_thread_blas:  # re-entrant
            assert openblas_threads() == [1] * len(before)
        assert openblas_threads() == [1] * len(before)
    assert openblas_threads() == before


def test_overlapping_threads_leave_the_count_as_it_was() -> None:
    before = openblas_threads()
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with single_thread_blas:
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(10)
    with single_thread_blas:
        pass
    assert openblas_threads() == [1] * len(before)  # the worker is still inside
    release.set()
    worker.join()
    assert openblas_threads() == before
