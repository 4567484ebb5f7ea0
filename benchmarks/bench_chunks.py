"""How many samples the compiled kernel should take per call: forward + backward of a batch
run as chunks of several sizes, against one call over the whole batch.

    python benchmarks/bench_chunks.py [--cases 8x1024 12x256 16x32] [--dtype float32]

For each case (qubits x batch): one QuantumLayer (RY encoding, 2 hardware-efficient layers,
CNOT ring, <Z>), the kernel's forward and backward of the batch with the chunk size forced,
timed in CPU time of this thread; the chunk sizes take turns (``--rounds``, medians). Prints
samples per CPU second for each chunk size, the default (``kernel.chunk_size``) and the
best. The cache a chunk needs is its state and the backward's four working copies of it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from hqnn_core import CircuitConfig, QuantumLayer
from hqnn_core.simulator import kernel as kernel_module

DEFAULT_CHUNK = kernel_module.chunk_size


def per_sample_rate(fn, batch: int, seconds: float) -> float:
    """Samples per CPU second of ``fn`` (one call runs ``batch`` samples)."""
    fn()
    calls, start = 0, time.thread_time()
    while calls < 2 or time.thread_time() - start < seconds:
        fn()
        calls += 1
    return calls * batch / (time.thread_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["8x1024", "12x256", "16x32"])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    real = np.dtype(args.dtype)
    for case in args.cases:
        n, batch = (int(v) for v in case.split("x"))
        layer = QuantumLayer(CircuitConfig(n_qubits=n, encoding="angle", layers=2,
                                           ansatz="hardware_efficient",
                                           entanglement="circular", measurement="z",
                                           input_scale=False),
                             dtype=getattr(torch, args.dtype))
        kernel = layer._fused.kernel
        x = np.random.default_rng(1).random((batch, n)).astype(real)
        w = layer.weights.detach().numpy()
        grad = np.ones((batch, n), real)
        default = DEFAULT_CHUNK(n, batch, real)
        sizes = sorted({batch, default, *[c for c in (4, 8, 16, 32, 64, 128, 256, 512)
                                          if c < batch]})
        rates: dict[int, list[float]] = {}
        for _ in range(args.rounds):
            for size in sizes:
                kernel_module.chunk_size = lambda n_, b_, d_, size=size: min(b_, size)

                def call() -> None:
                    _, _, tables = kernel.forward(x, w, with_state=False)
                    kernel.backward(grad, tables, True, True)

                rates.setdefault(size, []).append(per_sample_rate(call, batch, args.seconds))
        kernel_module.chunk_size = DEFAULT_CHUNK
        medians = {size: statistics.median(r) for size, r in rates.items()}
        best = max(medians, key=medians.get)
        row = "  ".join(f"{size}: {rate:,.0f}" for size, rate in medians.items())
        print(f"{n}q x {batch} ({args.dtype}) samples/CPU-s by chunk  {row}")
        print(f"   default chunk {default}: {medians[default] / medians[batch]:.2f}x one call, "
              f"{medians[default] / medians[best]:.2f} of the best (chunk {best})", flush=True)


if __name__ == "__main__":
    main()
