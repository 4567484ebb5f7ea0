"""What keeps one studio server quick for many sessions: its Streamlit settings and warm-up.

Both were found with the 8-session load test (tests/e2e/test_load.py), where eight tiny
training runs sat at "Loading data." for minutes: Streamlit's post-script garbage
collection (0.4 s per script run with torch and qiskit loaded, and every fragment poll is
a script run) and torch's lazy import of ``torch._dynamo`` in each worker's first optimizer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(script: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in a fresh interpreter from the repository; its stdout (must succeed)."""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_studio_turns_off_the_full_collection_after_every_script_run() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_the_warm_up_imports_what_a_first_optimizer_needs_in_the_background() -> None:
    script = (
        "import sys, torch\n"
        "assert 'torch._dynamo' not in sys.modules\n"
        "from hqnn_core.studio import warmup\n"
        "done = warmup.start()\n"
        "assert warmup.start() is done\n"
        "assert done.wait(300)\n"
        "assert 'torch._dynamo' in sys.modules\n"
        "before = set(sys.modules)\n"
        "torch.optim.Adam([torch.zeros(1, requires_grad=True)])\n"
        "print(len(set(sys.modules) - before))\n")
    assert int(_python(script).strip()) < 5  # the optimizer found its imports made


def test_the_kernel_warm_up_leaves_machine_code_a_later_process_loads(tmp_path) -> None:
    from hqnn_core.studio import warmup

    cache = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    assert warmup.compile_kernel(cache)
    assert list((tmp_path / "numba").rglob("*.nbc"))  # compiled functions on disk
    script = (
        "import torch\n"
        "from hqnn_core import CircuitConfig, QuantumLayer\n"
        "from hqnn_core.simulator import kernel_loops\n"
        "layer = QuantumLayer(CircuitConfig(n_qubits=8, layers=2))\n"
        "assert layer._fused is not None and layer._fused.kernel is not None\n"
        "layer(torch.rand(32, layer.n_features, requires_grad=True)).sum().backward()\n"
        "stats = [kernel_loops.forward_loops.stats, kernel_loops.backward_loops.stats]\n"
        "print(sum(sum(s.cache_hits.values()) for s in stats),"
        " sum(sum(s.cache_misses.values()) for s in stats))\n")
    hits, misses = map(int, _python(script, cache).split())
    assert hits >= 2 and misses == 0  # loaded from the cache, nothing compiled again


def test_studio_jobs_wait_for_a_pending_kernel_warm_up_and_only_for_it() -> None:
    script = (
        "from hqnn_core.studio import warmup\n"
        "assert warmup.wait_for_kernel(0.01)  # no warm-up started: nothing to wait for\n"
        "warmup.start()\n"
        "assert not warmup._kernel_done.is_set()  # the child is still compiling\n"
        "assert warmup.wait_for_kernel(600)\n"
        "assert warmup._kernel_done.is_set()\n")
    _python(script)
