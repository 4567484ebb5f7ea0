"""Where a plain eager training step loses its time under load, op by op (torch's profiler).

    python benchmarks/loss_under_load.py [--qubits 4] [--steps 400] [--classical]

The benchmark model of ``probe_hqnn.py`` (``--classical``: a Tanh in place of the
``QuantumLayer``, so no hqnn code runs at all) in the plain loop a user writes first —
torch's default thread count, default Adam, ``CrossEntropyLoss`` — profiled quiet, then with
one spinning process beside, then loaded inside ``thread_scope(1)``. Prints each op's time per
step in the three cases (self CPU time, which includes waiting for the other intra-op
threads at the end of a parallel region), largest loaded first, and the whole step.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from bench_peers import Spinner
from hqnn_core import CircuitConfig, QuantumLayer, thread_scope

BATCH = 32


def model_and_step(n: int, classical: bool):
    """The benchmark model, its optimiser and one plain training step on fixed data."""
    torch.manual_seed(1)
    middle = torch.nn.Tanh() if classical else QuantumLayer(CircuitConfig(
        n_qubits=n, encoding="angle", ansatz="hardware_efficient", layers=2,
        entanglement="circular", measurement="z", input_scale=False))
    model = torch.nn.Sequential(torch.nn.Linear(64, n), middle, torch.nn.Linear(n, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(BATCH, 64, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (BATCH,), generator=torch.Generator().manual_seed(0))

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    return step


def profiled(step, steps: int) -> tuple[dict[str, float], float]:
    """Self CPU µs per step of every op, and the wall µs of a step (unprofiled)."""
    for _ in range(50):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - start) / steps * 1e6
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    ops = {e.key: e.self_cpu_time_total / steps for e in prof.key_averages()}
    return ops, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=4)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--classical", action="store_true", help="no QuantumLayer (a Tanh)")
    parser.add_argument("--rows", type=int, default=10)
    args = parser.parse_args()
    step = model_and_step(args.qubits, args.classical)
    threads = torch.get_num_threads()
    quiet, quiet_wall = profiled(step, args.steps)
    with Spinner():
        loaded, loaded_wall = profiled(step, args.steps)
        with thread_scope(1):
            single, single_wall = profiled(step, args.steps)
    what = "classical part only" if args.classical else f"{args.qubits} qubits"
    print(f"plain eager step, {what}, batch {BATCH}, torch threads {threads}; "
          f"µs per step (self CPU)")
    print(f"{'op':42s} {'quiet':>9s} {'loaded':>9s} {'loaded, 1 thread':>17s}")
    for key in sorted(loaded, key=loaded.get, reverse=True)[:args.rows]:
        print(f"{key[:42]:42s} {quiet.get(key, 0):9.1f} {loaded[key]:9.1f} "
              f"{single.get(key, 0):17.1f}")
    print(f"{'whole step (wall, unprofiled)':42s} {quiet_wall:9.1f} {loaded_wall:9.1f} "
          f"{single_wall:17.1f}")


if __name__ == "__main__":
    main()
