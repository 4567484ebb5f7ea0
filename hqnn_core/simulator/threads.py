"""Intra-op threads for hqnn's own work: chosen per size, and the caller's count put back.

``torch.set_num_threads`` sets the calling thread's count (OpenMP's and MKL's setting are per
thread once a thread has run torch; threads that have not yet take the last count set), and a
team of OpenMP threads at sizes where each operation takes microseconds only waits: with
torch's default (one thread per core) and one busy process beside, small circuits trained
4-19x slower than on one thread. So hqnn sets the count itself, only inside its own calls (a
``QuantumLayer`` forward, the fused path's backward, each training step of ``fit``), and
restores the caller's count when the call returns, also on an exception. CPU autograd runs a
backward pass in the thread that calls ``backward()``, so a scope around forward and backward
covers both, and scopes in two threads (two studio jobs) do not touch each other's count.

The policy (``threads_for``): below ``PARALLEL_AMPLITUDES`` amplitudes per call (batch x
2**n) one thread; above, the caller's count, capped by the cores that other processes leave
idle (from ``/proc/stat``, re-read at most every ``LOAD_INTERVAL`` seconds), so that a busy
neighbour never makes hqnn's threads wait for each other. The compiled kernel takes the same
count as worker threads over chunks of the batch (``in_groups``). ``loop_threads`` is the count
for a block around many calls (a user's training loop): it leaves the caller's count for large
circuits, so that each call inside still follows the load as it changes.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

import torch

# Measured on 2 cores (busy): one thread is faster up to 14 qubits x batch 32, 12 x 256 and 8 x
# 2048 (2-4x); more threads can pay only for large statevectors.
PARALLEL_AMPLITUDES = 2**21  # 16 qubits x batch 32
LOAD_INTERVAL = 0.5


def threads_for(n_qubits: int, batch: int) -> int:
    """The intra-op thread count hqnn uses for a call on ``batch`` states of ``n_qubits``."""
    if batch * 2**n_qubits < PARALLEL_AMPLITUDES:
        return 1
    return max(1, min(torch.get_num_threads(), idle_cores()))


def loop_threads(n_qubits: int, batch: int) -> int:
    """The count for a block around many hqnn calls on ``batch`` states of ``n_qubits`` (a
    training loop): 1 where every call takes one thread, else the caller's count, which each
    call inside caps by the cores idle at that moment (``threads_for``). A block entered
    while the machine is busy therefore gets the cores back when they come back."""
    if batch * 2**n_qubits < PARALLEL_AMPLITUDES:
        return 1
    return torch.get_num_threads()


@contextmanager
def thread_scope(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the caller's count."""
    saved = torch.get_num_threads()
    if count == saved:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


class _Token:
    """The caller's thread count while a layer's backward runs with hqnn's own."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.saved: int | None = None

    def enter(self) -> None:
        if self.saved is None:
            self.saved = torch.get_num_threads()
            torch.set_num_threads(self.count)

    def leave(self) -> None:
        if self.saved is not None:
            torch.set_num_threads(self.saved)
            self.saved = None


class _EnterOnBackward(torch.autograd.Function):
    """Identity on a layer's output; its backward sets hqnn's count for the layer's backward."""

    @staticmethod
    def forward(ctx, token: _Token, out: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.token = token
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        ctx.token.enter()
        return None, grad


class _LeaveOnBackward(torch.autograd.Function):
    """Identity on a layer's inputs; the first of their gradients restores the caller's count.

    Every backward pass that runs ``_EnterOnBackward`` goes on to one of these: the only
    ways out of the layer's graph are its inputs."""

    @staticmethod
    def forward(ctx, token: _Token, *tensors: torch.Tensor):  # type: ignore[override]
        ctx.token = token
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):  # type: ignore[override]
        ctx.token.leave()
        return (None, *grads)


def scoped(count: int, fn: Callable[..., torch.Tensor], *tensors: torch.Tensor) -> torch.Tensor:
    """``fn(*tensors)`` with ``count`` threads, and its backward too (through autograd)."""
    if count == torch.get_num_threads():
        return fn(*tensors)
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    token = _Token(count)
    if grad:
        tensors = _LeaveOnBackward.apply(token, *tensors)
    with thread_scope(count):
        out = fn(*tensors)
    return _EnterOnBackward.apply(token, out) if grad and out.requires_grad else out


class _LoadMeter:
    """Cores left idle by other processes: machine-wide busy time minus this process's own,
    over the interval since the previous reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cores = os.cpu_count() or 1
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._sample()
        self._idle = self._cores

    def _sample(self) -> tuple[float, float, float] | None:
        """(wall time, machine busy seconds, own CPU seconds), or None without /proc/stat."""
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
        own = os.times()
        return time.monotonic(), busy / self._tick, own.user + own.system

    def idle(self) -> int:
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] < LOAD_INTERVAL:
                return self._idle
            sample = self._sample()
            if sample is not None:
                wall = sample[0] - self._last[0]
                others = ((sample[1] - self._last[1]) - (sample[2] - self._last[2])) / wall
                self._idle = max(1, round(self._cores - max(0.0, others)))
            self._last = sample
            return self._idle


_meter = _LoadMeter()


def idle_cores() -> int:
    """Cores not busy with other processes (at least 1; all of them where not measurable)."""
    return _meter.idle()


T = TypeVar("T")
R = TypeVar("R")
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The process's worker threads for ``in_groups`` (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max(1, (os.cpu_count() or 1) - 1),
                                       thread_name_prefix="hqnn-worker")
        return _POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: it makes its own pool."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def in_groups(fn: Callable[[int, Sequence[T]], list[R]], items: Sequence[T], workers: int
              ) -> list[R]:
    """``fn(group, items[lo:hi])`` over ``workers`` contiguous groups of ``items`` at once
    (the first in the calling thread, the others on a process-wide pool), results in order;
    ``fn`` must release the GIL to run in parallel, as the kernel's loops do."""
    workers = max(1, min(workers, len(items)))
    if workers == 1:
        return fn(0, items)
    bounds = [len(items) * g // workers for g in range(workers + 1)]
    futures = [_pool().submit(fn, g, items[bounds[g]:bounds[g + 1]]) for g in range(1, workers)]
    first = fn(0, items[bounds[0]:bounds[1]])
    return first + [r for f in futures for r in f.result()]
