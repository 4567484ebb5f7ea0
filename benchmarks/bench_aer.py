"""Training step on Aer with shots: hqnn's parameter-shift runner vs qiskit-machine-learning.

Same 4-qubit circuit for both — the layer's own ``layer.circuit`` and observables are handed
to the peer (RY angle encoding; per layer RY and RZ on every qubit and a CNOT ring; <Z_i>
readout; 2 layers) — same batch of 32, one forward + backward per step (gradients for
weights and inputs). Peers, all in this process:

* hqnn: ``QuantumLayer(..., backend="aer", shots=1000)`` — the batch and all its
  parameter-shifted copies in one broadcast Aer call;
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
from torch import nn

from hqnn_core.config import CircuitConfig
from hqnn_core.learning.layer import QuantumLayer

N_QUBITS, LAYERS, BATCH, SHOTS = 4, 2, 32, 1000
logger = logging.getLogger("bench_aer")


CIRCUIT = CircuitConfig(n_qubits=N_QUBITS, encoding="angle", ansatz="hardware_efficient",
                        layers=LAYERS, entanglement="circular", measurement="z")


def hqnn_layer(seed: int) -> QuantumLayer:
    """The studio's layer on Aer with shots (parameter shift, one broadcast call per step)."""
    return QuantumLayer(CIRCUIT, backend="aer", shots=SHOTS, dtype=torch.float64, seed=seed)


def qml_model(layer: QuantumLayer, aer: bool, seed: int) -> nn.Module:
    """TorchConnector(EstimatorQNN) on the layer's own circuit and observables."""
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    circuit = layer.circuit
    inputs = [p for p in circuit.parameters if p.vector.name == "x"]
    weights = [p for p in circuit.parameters if p.vector.name == "θ"]
    estimator = None
    if aer:
        from qiskit_aer.primitives import EstimatorV2

        estimator = EstimatorV2(options={"default_precision": SHOTS**-0.5,
                                         "run_options": {"seed_simulator": seed}})
    qnn = EstimatorQNN(circuit=circuit, estimator=estimator, observables=layer.observables,
                       input_params=inputs, weight_params=weights, input_gradients=True,
                       default_precision=SHOTS**-0.5 if aer else 0.0)
    return TorchConnector(qnn, initial_weights=layer.weights.detach().numpy())


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
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)
    warnings.filterwarnings("ignore")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, N_QUBITS, generator=generator, dtype=torch.float64) * np.pi

    layer = hqnn_layer(seed=0)
    ours = seconds_per_step(layer, x, args.steps)
    logger.info("hqnn QuantumLayer(backend='aer', shots=%d): %.3f s/step", SHOTS, ours)
    qml_default = seconds_per_step(qml_model(layer, aer=False, seed=0), x, args.steps)
    logger.info("TorchConnector(EstimatorQNN) default estimator: %.3f s/step (%.1fx slower)",
                qml_default, qml_default / ours)
    qml_aer = seconds_per_step(qml_model(layer, aer=True, seed=0), x, args.steps)
    logger.info("TorchConnector(EstimatorQNN) Aer EstimatorV2: %.3f s/step (%.1fx slower)",
                qml_aer, qml_aer / ours)


if __name__ == "__main__":
    main()
