"""A hybrid model whose quantum layer runs on Aer with shots trains (parameter shift)."""

from __future__ import annotations

import torch

from hqnn_core.config import CircuitConfig, DataConfig, RunConfig, TrainConfig
from hqnn_core.learning.model import build_model
from hqnn_core.learning.training import fit

CFG = RunConfig(data=DataConfig(name="digits", classes=(0, 1), train_size=64, test_size=16),
                circuit=CircuitConfig(n_qubits=3, layers=1),
                train=TrainConfig(epochs=1, batch_size=32, backend="aer", shots=500))


def test_gradients_reach_the_front_and_the_circuit() -> None:
    model = build_model(CFG, n_classes=2, image_shape=(1, 8, 8))
    assert model.quantum_layer.backend == "aer"
    images = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    loss = torch.nn.functional.cross_entropy(model(images), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    assert model.quantum_layer.weights.grad.abs().sum() > 0
    front_grads = [p.grad for p in model.front.parameters() if p.requires_grad]
    assert front_grads and all(g is not None and g.abs().sum() > 0 for g in front_grads)


def test_fit_on_aer_completes() -> None:
    result = fit(CFG)
    assert result.status == "completed"
    assert result.model.quantum_layer.backend == "aer"
