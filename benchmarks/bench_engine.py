"""Training speed of the exact engine against PennyLane and qiskit-machine-learning.

The same model — Linear(64 -> n) -> circuit -> Linear(n -> 10) on scikit-learn's digits,
batch 32, Adam — with the same circuit (RY angle encoding, then per layer RY and RZ on
every qubit and a CNOT ring, <Z_i> readout), trained in one process.
hqnn and PennyLane train in alternating turns (``--rounds``) and the medians are reported,
so a change in the machine's speed during the run affects both alike. Prints
samples/second, the ratios, and the largest difference between the frameworks' circuit
outputs for identical weights (they must compute the same function).

    python benchmarks/bench_engine.py                 # 4, 8, 12 qubits
    python benchmarks/bench_engine.py --qubits 4 --seconds 5
Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np
import torch
from sklearn.datasets import load_digits

from hqnn_core import CircuitConfig, QuantumLayer

LAYERS = 2
BATCH = 32


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)


def hqnn_layer(n: int) -> torch.nn.Module:
    return QuantumLayer(CircuitConfig(n_qubits=n, encoding="angle", ansatz="hardware_efficient",
                                      layers=LAYERS, entanglement="circular", measurement="z",
                                      input_scale=False),
                        seed=0)


def pennylane_layer(n: int, weights: torch.Tensor) -> torch.nn.Module:
    import pennylane as qml

    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs: torch.Tensor, weights: torch.Tensor) -> list:
        qml.AngleEmbedding(inputs, wires=range(n), rotation="Y")
        for layer in range(LAYERS):
            for q in range(n):
                qml.RY(weights[layer, q, 0], wires=q)
                qml.RZ(weights[layer, q, 1], wires=q)
            for q in range(n):
                if n > 1 and not (n == 2 and q == 1):
                    qml.CNOT(wires=[q, (q + 1) % n])
        return [qml.expval(qml.PauliZ(q)) for q in range(n)]

    layer = qml.qnn.TorchLayer(circuit, weight_shapes={"weights": (LAYERS, n, 2)})
    with torch.no_grad():
        layer.weights.copy_(weights.reshape(LAYERS, n, 2))
    return layer


def qml_layer(reference: QuantumLayer) -> torch.nn.Module:
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    qnn = EstimatorQNN(circuit=reference.circuit, input_params=reference.input_parameters,
                       weight_params=reference.weight_parameters,
                       observables=reference.observables,
                       input_gradients=True)
    return TorchConnector(qnn, initial_weights=reference.weights.detach().double().numpy())


class Trainer:
    """One framework's model and optimizer, trained in time slices so that frameworks can
    take turns (drift of the machine's speed then affects both alike)."""

    def __init__(self, quantum: torch.nn.Module, n: int,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.x, self.y = digits()
        self.gen = torch.Generator().manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Linear(64, n), quantum, torch.nn.Linear(n, 10))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=0.01)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.clock = clock
        self.step()  # warm-up (compilation, caches)

    def step(self) -> None:
        idx = torch.randint(0, len(self.x), (BATCH,), generator=self.gen)
        self.opt.zero_grad()
        self.loss_fn(self.model(self.x[idx]).float(), self.y[idx]).backward()
        self.opt.step()

    def samples_per_second(self, seconds: float, max_steps: int) -> float:
        steps, start = 0, self.clock()
        while steps < max_steps and (self.clock() - start < seconds or steps < 2):
            self.step()
            steps += 1
        return steps * BATCH / (self.clock() - start)


def interleaved(trainers: list[Trainer], seconds: float, rounds: int) -> list[float]:
    """Median samples/second of each trainer over ``rounds`` turns of seconds/rounds each."""
    rates: list[list[float]] = [[] for _ in trainers]
    for _ in range(rounds):
        for trainer, rate in zip(trainers, rates):
            rate.append(trainer.samples_per_second(seconds / rounds, 100_000))
    return [statistics.median(rate) for rate in rates]


def max_output_difference(a: Callable, b: Callable, n: int) -> float:
    x = torch.rand(8, n, generator=torch.Generator().manual_seed(1)) * 3
    with torch.no_grad():
        return float((a(x).double() - torch.as_tensor(b(x)).double()).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5,
                        help="hqnn and PennyLane take this many turns; medians are reported")
    parser.add_argument("--cpu-time", action="store_true",
                        help="measure process CPU time instead of wall time (for a busy machine)")
    parser.add_argument("--qml-qubits", type=int, nargs="*", default=[4],
                        help="qiskit-machine-learning is slow; only these sizes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.cpu_time else time.perf_counter
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {BATCH}, "
          f"{LAYERS} layers, {'CPU' if args.cpu_time else 'wall'} time")
    print(f"{'qubits':>6} {'hqnn':>10} {'PennyLane':>10} {'qiskit-ml':>10} "
          f"{'x PennyLane':>12} {'x qiskit-ml':>12} {'max |diff|':>11}")
    for n in args.qubits:
        ours = hqnn_layer(n)
        pl = pennylane_layer(n, ours.weights.detach().clone())
        diff = max_output_difference(ours, pl, n)
        ours_sps, pl_sps = interleaved([Trainer(ours, n, clock), Trainer(pl, n, clock)],
                                       args.seconds, args.rounds)
        qml_sps = float("nan")
        if n in args.qml_qubits:
            qml = qml_layer(ours)
            diff = max(diff, max_output_difference(ours, qml, n))
            qml_sps = Trainer(qml, n, clock).samples_per_second(args.seconds, 3)
        print(f"{n:>6} {ours_sps:>10.0f} {pl_sps:>10.0f} {qml_sps:>10.1f} "
              f"{ours_sps / pl_sps:>12.1f} {ours_sps / qml_sps:>12.0f} {diff:>11.1e}",
              flush=True)

if __name__ == "__main__":
    main()
