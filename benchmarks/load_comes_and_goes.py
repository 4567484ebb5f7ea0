"""The README's loop while the load changes: one `with` block that trains through a busy
phase, a quiet phase and a busy phase again, for two counts of the block.

    python benchmarks/load_comes_and_goes.py [--qubits 16] [--seconds 4] [--rounds 3]

Model and loop: those of ``probe_hqnn.py`` (``MODE=scoped``: ``Adam(fused=True)`` inside
``thread_scope``), entered while one spinning process runs beside; the spinner stops after
``--seconds`` and starts again ``--seconds`` later. The two counts take turns each round:
  loop     ``layer.threads(batch)``: the caller's count for large circuits, which each call
           of the layer caps by the cores idle at that moment (``threads_for``)
  entry    ``threads_for(n, batch)`` taken once when the block is entered (the block's count
           before 2026-12-03), which holds every call inside to the cores idle at entry
Prints samples/s and the process's CPU share per phase, medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch
from sklearn.datasets import load_digits

from hqnn_core import CircuitConfig, QuantumLayer, thread_scope, threads_for

BATCH = 32
PHASES = ("busy", "quiet", "busy again")


def spinner() -> subprocess.Popen:
    """One process that keeps a core busy until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def build(n: int):
    """The benchmark model, its optimizer and loss, and the digits as batches."""
    torch.manual_seed(1)
    layer = QuantumLayer(CircuitConfig(n_qubits=n, encoding="angle", ansatz="hardware_efficient",
                                       layers=2, entanglement="circular", measurement="z",
                                       input_scale=False))
    model = torch.nn.Sequential(torch.nn.Linear(64, n), layer, torch.nn.Linear(n, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, fused=True)
    x, y = load_digits(return_X_y=True)
    x, y = torch.tensor(x / 16, dtype=torch.float32), torch.tensor(y)
    batches = [(x[k:k + BATCH], y[k:k + BATCH]) for k in range(0, len(x) - BATCH + 1, BATCH)]
    return layer, model, opt, torch.nn.CrossEntropyLoss(), batches


def one_turn(count_of: str, n: int, seconds: float, parts) -> list[tuple[float, float]]:
    """(samples/s, CPU share) in each phase of one block entered while the machine is busy."""
    layer, model, opt, loss_fn, batches = parts
    busy = spinner()
    time.sleep(1.0)  # the load meter sees the spinner before the block is entered
    count = layer.threads(BATCH) if count_of == "loop" else threads_for(n, BATCH)
    rates, k = [], 0
    try:
        with thread_scope(count):
            for phase in PHASES:
                if phase == "quiet":
                    busy.kill(), busy.wait()
                elif phase == "busy again":
                    busy = spinner()
                steps, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
                while time.perf_counter() - wall0 < seconds:
                    xb, yb = batches[k % len(batches)]
                    opt.zero_grad()
                    loss_fn(model(xb), yb).backward()
                    opt.step()
                    steps, k = steps + 1, k + 1
                wall = time.perf_counter() - wall0
                rates.append((steps * BATCH / wall, (time.process_time() - cpu0) / wall))
    finally:
        busy.kill(), busy.wait()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    parts = build(args.qubits)
    one_turn("loop", args.qubits, 0.5, parts)  # warm up the kernel and the pool
    turns: dict[str, list[list[tuple[float, float]]]] = {"loop": [], "entry": []}
    for r in range(args.rounds):
        for name in (("loop", "entry") if r % 2 == 0 else ("entry", "loop")):
            turns[name].append(one_turn(name, args.qubits, args.seconds, parts))
            print(f"  round {r + 1} {name}: " + ", ".join(
                f"{phase} {rate:,.0f}/s [{cpu:.2f}]"
                for phase, (rate, cpu) in zip(PHASES, turns[name][-1])), flush=True)
    print(f"{args.qubits} qubits x batch {BATCH}, medians of {args.rounds} "
          "(samples/s [CPU share]):")
    for name, runs in turns.items():
        cells = []
        for i, phase in enumerate(PHASES):
            rate = statistics.median(run[i][0] for run in runs)
            cpu = statistics.median(run[i][1] for run in runs)
            cells.append(f"{phase} {rate:,.0f} [{cpu:.2f}]")
        print(f"  {name:5s}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
