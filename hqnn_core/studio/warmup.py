"""Work a first training run would otherwise do, done once in the background at start.

torch imports ``torch._dynamo`` (and sympy with it, a few seconds of pure Python) the first
time an optimizer is built. In a fresh server where several people press Start at once,
every training worker waited on that one import while the page threads polling their
progress held the interpreter: eight two-qubit runs sat at "Loading data." for minutes.
:func:`start` makes the import on a daemon thread when the studio starts, before anyone
trains; a worker that comes earlier simply waits for it, as it did before.

The small-circuit kernel (:mod:`hqnn_core.simulator.kernel`) is compiled by Numba on its
first use on a machine (about 20 s, much of it holding the interpreter) and cached on disk.
:func:`compile_kernel` does that first use in a child process, so a server started on a fresh
installation loads the cached machine code instead of compiling it with every page waiting.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

_started = threading.Event()
_done = threading.Event()
_kernel_done = threading.Event()
KERNEL_WAIT_S = 120.0


# A first forward and backward of a float32 fused circuit: what the studio's training needs.
_KERNEL_SCRIPT = (
    "import torch\n"
    "from hqnn_core import CircuitConfig, QuantumLayer\n"
    "layer = QuantumLayer(CircuitConfig(n_qubits=4))\n"
    "layer(torch.rand(2, layer.n_features, requires_grad=True)).sum().backward()\n")
KERNEL_TIMEOUT_S = 600


def compile_kernel(env: dict[str, str] | None = None) -> bool:
    """Fill Numba's disk cache with the kernel in a child process; True if it succeeded."""
    package_root = str(Path(__file__).resolve().parents[2])
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, child_env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run([sys.executable, "-c", _KERNEL_SCRIPT], env=child_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=KERNEL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("kernel warm-up did not finish: %s", exc)
        return False
    if done.returncode != 0:
        log.warning("kernel warm-up failed: %s", done.stderr.strip()[-500:])
    return done.returncode == 0


def _imports() -> None:
    try:
        import torch._dynamo  # noqa: F401  (what torch.optim.Optimizer.__init__ imports)
    except Exception:  # a failed warm-up only costs the first run the time it saves
        log.exception("warm-up import failed")
    finally:
        _done.set()
    try:
        compile_kernel()
    finally:
        _kernel_done.set()


def wait_for_kernel(timeout: float = KERNEL_WAIT_S) -> bool:
    """Before a studio job's first circuit: wait (at most ``timeout`` s) while the warm-up's
    child process is still compiling the kernel, so the job loads it from the disk cache
    instead of compiling it a second time with the interpreter held. True when no warm-up
    is pending any more (none was started, or it has finished)."""
    if not _started.is_set():
        return True
    return _kernel_done.wait(timeout)


def start() -> threading.Event:
    """Start the warm-up once (later calls do nothing); the event is set when the imports
    are done (the kernel's compilation in its child process may still be running)."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_imports, name="hqnn-warmup", daemon=True).start()
    return _done
