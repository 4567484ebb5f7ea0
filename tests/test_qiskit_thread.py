"""Qiskit loaded through ``load_qiskit`` on a short-lived thread stays usable from others.

Runs in a subprocess: the failure this guards against is a segfault of the interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import threading
from hqnn_core.qiskit_thread import load_qiskit

def build():
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    p = ParameterVector("x", 3)
    qc = QuantumCircuit(3)
    for i in range(3):
        qc.ry(p[i], i)
    qc.assign_parameters({p[i]: 0.1 * i for i in range(3)})

def first():
    load_qiskit()
    build()

for target in [first] + [build] * 10:
    t = threading.Thread(target=target)
    t.start()
    t.join()
print("ok")
"""


def test_qiskit_survives_the_thread_that_loaded_it() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
