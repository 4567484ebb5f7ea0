"""hqnn in the peers' benchmark model and loop (one process, one line per qubit count).

Model: Linear(64 -> n) -> QuantumLayer -> Linear(n -> 10) on scikit-learn's digits (X/16,
float32), batches in order, cross-entropy, Adam lr 1e-2; circuit: RY(x_i) on every qubit,
2 layers of [RY, RZ on every qubit; CNOT ring], <Z_i> readout. The same model as the probes
of ``../shared/peers`` (see ``bench_peers.py``), so ``input_scale=False``: the peers' circuits
have no trainable input factors (``CircuitConfig``'s default adds n of them, and their Adam
state, to the step).

Environment: ``NS`` (qubit counts, "4,8"), ``BATCH`` (32), ``BUDGET`` (seconds per case, 3),
``WARMUP`` (untimed steps, 3), ``MODE``:
  eager     plain loop, torch's default Adam and the thread count as the process has it
            (``TORCH_THREADS``): what a user writes first
  scoped    the same loop inside ``thread_scope(layer.threads(batch))`` with
            ``Adam(fused=True)``: the README's fastest way
  compiled  scoped, with ``torch.compile`` of the model and of the (foreach) Adam step
  step      ``hqnn_core.compile_step``: forward, loss, backward and Adam in one compiled call
Prints ``hqnn-<mode> n=<n>: <samples/s> samples/s [steps, peak RSS, max |<Z> - Statevector|]``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from hqnn_core import CircuitConfig, QuantumLayer, compile_step, thread_scope

MODE = os.environ.get("MODE", "scoped")
BATCH = int(os.environ.get("BATCH", "32"))
if "TORCH_THREADS" in os.environ:
    torch.set_num_threads(int(os.environ["TORCH_THREADS"]))


def statevector_difference(layer: QuantumLayer, n: int) -> float:
    """Largest |<Z_i>| difference from Qiskit's Statevector on 4 inputs (up to 12 qubits)."""
    if n > 12:
        return float("nan")
    from qiskit.quantum_info import SparsePauliOp, Statevector

    x = torch.rand(4, n, generator=torch.Generator().manual_seed(1)) * 3
    with torch.no_grad():
        ours = layer(x).double().numpy()
    worst = 0.0
    for i in range(4):
        sv = Statevector(layer.bound_circuit(x[i:i + 1]))
        for q in range(n):
            z = SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], num_qubits=n)
            worst = max(worst, abs(sv.expectation_value(z).real - ours[i, q]))
    return worst


def run(n: int, x: torch.Tensor, y: torch.Tensor) -> None:
    torch.manual_seed(1)
    layer = QuantumLayer(CircuitConfig(n_qubits=n, encoding="angle", ansatz="hardware_efficient",
                                       layers=2, entanglement="circular", measurement="z",
                                       input_scale=False))
    model = torch.nn.Sequential(torch.nn.Linear(64, n), layer, torch.nn.Linear(n, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, fused=MODE == "scoped" or None,
                           foreach=True if MODE == "compiled" else None)
    loss_fn = torch.nn.CrossEntropyLoss()
    forward, opt_step = model, opt.step
    if MODE == "compiled":
        forward, opt_step = torch.compile(model), torch.compile(opt.step)
    batches = [(x[k:k + BATCH], y[k:k + BATCH]) for k in range(0, len(x) - BATCH + 1, BATCH)]
    scope = (contextlib.nullcontext() if MODE in ("eager", "step")
             else thread_scope(layer.threads(BATCH)))
    compiled = compile_step(model, opt) if MODE == "step" else None

    def step(k: int) -> None:
        xb, yb = batches[k % len(batches)]
        if compiled is not None:
            compiled(xb, yb)
            return
        opt.zero_grad()
        loss = loss_fn(forward(xb), yb)
        loss.backward()
        opt_step()
        loss.item()

    budget = float(os.environ.get("BUDGET", "3"))
    with scope:
        for k in range(int(os.environ.get("WARMUP", "3"))):
            step(k)
        steps, start = 0, time.perf_counter()
        while steps < 1 or time.perf_counter() - start < budget:
            step(steps)
            steps += 1
        elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    diff = statevector_difference(layer, n)
    print(f"hqnn-{MODE} n={n}: {steps * BATCH / elapsed:.1f} samples/s  [steps={steps} in "
          f"{elapsed:.2f}s; peak RSS {peak:.2f} GiB; max|<Z> - Statevector| = {diff:.1e}]",
          flush=True)


def main() -> None:
    data, target = load_digits(return_X_y=True)
    x = torch.tensor(data / 16.0, dtype=torch.float32)
    y = torch.tensor(target)
    if BATCH > len(x):
        x, y = x.repeat(-(-BATCH // len(x)), 1), y.repeat(-(-BATCH // len(y)))
    for n in [int(v) for v in os.environ.get("NS", "4,8").split(",") if v.strip()]:
        run(n, x, y)


if __name__ == "__main__":
    main()
