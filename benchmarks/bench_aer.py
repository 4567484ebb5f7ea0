"""Training step on Aer with shots: hqnn's parameter-shift runner vs qiskit-machine-learning.

Same 4-qubit circuit for both (RY angle encoding; per layer RY and RZ on every qubit and a
CNOT ring; <Z_i> readout; 2 layers), same batch of 32, one forward + backward per step
(gradients for weights and inputs). Peers, all in this process:

* hqnn: ``make_runner(backend="aer", shots=1000)`` — the batch and all its parameter-shifted
  copies in one broadcast Aer call;
* qiskit-machine-learning ``TorchConnector(EstimatorQNN)`` with its default estimator
  (exact ``StatevectorEstimator``) and default gradient (parameter shift);
* the same with Aer's ``EstimatorV2`` at shot precision 1/sqrt(1000), the closest to 1000 shots.

Run: ``.venv/bin/python benchmarks/bench_aer.py [--steps 3]``. Prints seconds per step and
ratios (goal: hqnn at least 10x faster than TorchConnector).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from torch import nn

from hqnn_core.backends import CircuitSpec, make_runner

N_QUBITS, LAYERS, BATCH, SHOTS = 4, 2, 32, 1000
logger = logging.getLogger("bench_aer")


def observables() -> list[SparsePauliOp]:
    return [SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], N_QUBITS) for i in range(N_QUBITS)]


def build(inputs: ParameterVector, weights: ParameterVector) -> QuantumCircuit:
    """The benchmark circuit with the given input and weight parameters."""
    circuit = QuantumCircuit(N_QUBITS)
    for q in range(N_QUBITS):
        circuit.ry(inputs[q], q)
    w = 0
    for _ in range(LAYERS):
        for q in range(N_QUBITS):
            circuit.ry(weights[w], q)
            circuit.rz(weights[w + 1], q)
            w += 2
        for q in range(N_QUBITS):
            circuit.cx(q, (q + 1) % N_QUBITS)
    return circuit


class HqnnAer(nn.Module):
    """Inputs and weights -> gate angles -> Aer runner (what QuantumLayer does for "aer")."""

    def __init__(self, n_weights: int, seed: int) -> None:
        super().__init__()
        phi = ParameterVector("φ", N_QUBITS + n_weights)
        circuit = build(phi[:N_QUBITS], phi[N_QUBITS:])
        spec = CircuitSpec.build(circuit, measurement="z", observables=observables())
        self.runner = make_runner(spec, backend="aer", shots=SHOTS, seed=seed)
        self.weights = nn.Parameter(torch.zeros(n_weights))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = torch.cat([x, self.weights.expand(x.shape[0], -1)], dim=1)  # (B, G)
        return self.runner(angles)


def qml_model(n_weights: int, aer: bool, seed: int) -> nn.Module:
    """TorchConnector(EstimatorQNN) on the same circuit, default or Aer estimator."""
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    x, theta = ParameterVector("x", N_QUBITS), ParameterVector("θ", n_weights)
    estimator = None
    if aer:
        from qiskit_aer.primitives import EstimatorV2

        estimator = EstimatorV2(options={"default_precision": SHOTS**-0.5,
                                         "run_options": {"seed_simulator": seed}})
    qnn = EstimatorQNN(circuit=build(x, theta), estimator=estimator, observables=observables(),
                       input_params=list(x), weight_params=list(theta), input_gradients=True,
                       default_precision=SHOTS**-0.5 if aer else 0.0)
    return TorchConnector(qnn, initial_weights=np.zeros(n_weights))


def seconds_per_step(model: nn.Module, x: torch.Tensor, steps: int) -> float:
    """Median wall time of forward + backward on the batch (after one warm-up step)."""
    times = []
    for step in range(steps + 1):
        inputs = x.clone().requires_grad_(True)
        start = time.perf_counter()
        model(inputs).sum().backward()
        if step:
            times.append(time.perf_counter() - start)
        model.zero_grad()
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.filterwarnings("ignore")
    n_weights = 2 * N_QUBITS * LAYERS
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, N_QUBITS, generator=generator, dtype=torch.float64) * np.pi

    ours = seconds_per_step(HqnnAer(n_weights, seed=0).double(), x, args.steps)
    logger.info("hqnn aer shots=%d: %.3f s/step", SHOTS, ours)
    qml_default = seconds_per_step(qml_model(n_weights, aer=False, seed=0), x, args.steps)
    logger.info("TorchConnector(EstimatorQNN) default estimator: %.3f s/step (%.1fx slower)",
                qml_default, qml_default / ours)
    qml_aer = seconds_per_step(qml_model(n_weights, aer=True, seed=0), x, args.steps)
    logger.info("TorchConnector(EstimatorQNN) Aer EstimatorV2: %.3f s/step (%.1fx slower)",
                qml_aer, qml_aer / ours)


if __name__ == "__main__":
    main()
