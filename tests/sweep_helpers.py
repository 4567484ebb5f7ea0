"""Shared helpers of the sweep tests: tiny specs and a check that no Ray process is left."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

TINY = {"data": {"name": "digits", "train_size": 240, "test_size": 100},
        "circuit": {"n_qubits": 3, "layers": 1},
        "model": {"kind": "hybrid", "front": "linear"},
        "train": {"epochs": 2, "batch_size": 40, "lr": 0.05, "seed": 0}}


def short_temp_dir(prefix: str) -> str:
    """A short temporary folder (Ray's socket paths must stay under 107 characters)."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


def processes_mentioning(text: str) -> list[int]:
    """Ids of this user's processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def wait_until_gone(text: str, timeout: float = 20.0) -> list[int]:
    """Wait for the processes mentioning ``text`` to exit; returns those still alive."""
    deadline = time.monotonic() + timeout
    left = processes_mentioning(text)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = processes_mentioning(text)
    return left
