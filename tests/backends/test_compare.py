"""The Hardware page's computation: rows side by side, exact even for a layer trained on Aer."""

from __future__ import annotations

import numpy as np
import torch

from hqnn_core.studio import hardware as compare
from hqnn_core.config import CircuitConfig
from hqnn_core.learning.layer import QuantumLayer


def test_local_comparison_rows_and_exact_twin() -> None:
    cfg = CircuitConfig(n_qubits=3, layers=1)
    aer_layer = QuantumLayer(cfg, backend="aer", shots=100, seed=1)
    exact_layer = QuantumLayer(cfg, seed=1)
    features = torch.tensor([[0.3, 1.2, 2.0]])
    rows = compare.local_comparison(aer_layer, features, shots=4000, device="FakeManilaV2",
                                    seed=0)
    assert [r.label for r in rows] == ["exact", "aer 4000 shots", "FakeManilaV2 4000 shots raw",
                                       "FakeManilaV2 4000 shots mitigated"]
    with torch.no_grad():
        expected = exact_layer(features)[0].double().numpy()
    np.testing.assert_allclose(rows[0].outputs, expected, atol=1e-6)
    assert np.abs(rows[1].outputs - expected).max() < 0.1
    table = compare.comparison_table(rows, compare.output_labels(exact_layer))
    assert list(table[0]) == ["backend", "<Z0>", "<Z1>", "<Z2>", "seconds"]
