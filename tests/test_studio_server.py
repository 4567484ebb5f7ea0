"""What keeps one studio server quick for many sessions: its Streamlit settings and warm-up.

Both were found with the 8-session load test (tests/e2e/test_load.py), where eight tiny
training runs sat at "Loading data." for minutes: Streamlit's post-script garbage
collection (0.4 s per script run with torch and qiskit loaded, and every fragment poll is
a script run) and torch's lazy import of ``torch._dynamo`` in each worker's first optimizer.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) < 5  # the optimizer found its imports made
