"""The small-circuit kernel against the NumPy fused path and the torch engine, per layer call.

    python benchmarks/bench_kernel.py [--qubits 2 4 5 6 8] [--batch 32 256] [--seconds 0.3]

For each size: one QuantumLayer (RY encoding, 2 hardware-efficient layers, CNOT ring, <Z>),
forward + backward of a batch, timed in CPU time of this thread, the three paths taking turns
(five rounds, medians). The fused path sends every circuit without re-uploading layers
to the kernel; here the NumPy path runs too (``path.kernel = None``), to show the margin
(where its limits send a batch to the engine, e.g. 12 qubits x 256, that column is the engine).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hqnn_core import CircuitConfig, QuantumLayer


def per_call(fn, seconds: float) -> float:
    """Microseconds of CPU per call of ``fn``."""
    for _ in range(3):
        fn()
    calls, start = 0, time.thread_time()
    while time.thread_time() - start < seconds:
        fn()
        calls += 1
    return (time.thread_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[2, 4, 5, 6, 8])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'qubits':>6} {'batch':>6} {'kernel us':>10} {'numpy us':>10} {'engine us':>10}"
          f" {'numpy/kernel':>13}")
    for n in args.qubits:
        layer = QuantumLayer(CircuitConfig(n_qubits=n, encoding="angle", layers=2,
                                           ansatz="hardware_efficient",
                                           entanglement="circular", measurement="z",
                                           input_scale=False))
        path = layer._fused
        kernel = path.kernel
        for batch in args.batch:
            x = torch.rand(batch, n, requires_grad=True)

            def call() -> None:
                layer(x).sum().backward()

            times: dict[str, list[float]] = {}
            for _ in range(5):
                for mode in ("kernel", "numpy", "engine"):
                    path.kernel = kernel if mode == "kernel" else None
                    layer.use_fused = mode != "engine"
                    times.setdefault(mode, []).append(per_call(call, args.seconds))
            path.kernel, layer.use_fused = kernel, True
            k, p, e = (statistics.median(times[m]) for m in ("kernel", "numpy", "engine"))
            print(f"{n:>6} {batch:>6} {k:>10.0f} {p:>10.0f} {e:>10.0f} {p / k:>13.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
