"""The Hardware page's computation: rows side by side, exact even for a layer trained on Aer."""

from __future__ import annotations

import numpy as np
import pytest
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


class _Job:
    def __init__(self, running: bool) -> None:
        self.running = running


def test_the_jobs_list_is_bounded_and_says_when_to_poll() -> None:
    from hqnn_core.errors import HqnnError

    jobs = compare.HardwareJobs(limit=3)
    assert jobs.poll_seconds is None
    done = [jobs.add(_Job(False)) for _ in range(3)]
    newest = jobs.add(_Job(True))
    assert len(jobs) == 3 and list(jobs) == [done[1], done[2], newest]
    assert jobs.poll_seconds == compare.POLL_SECONDS
    jobs.add(_Job(True))
    jobs.add(_Job(True))
    assert all(j.running for j in jobs)
    with pytest.raises(HqnnError, match="3 hardware jobs are still running"):
        jobs.add(_Job(True))
    for job in jobs:
        job.running = False
    assert jobs.poll_seconds is None


def test_transpile_summary_of_a_from_circuit_layer() -> None:
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    x, w = ParameterVector("x", 2), ParameterVector("w", 1)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.rx(x[1], 1)
    qc.cry(w[0], 0, 1)
    layer = QuantumLayer.from_circuit(qc, x, w)
    assert layer.config is None
    summary = compare.transpile_summary(layer.circuit, "FakeManilaV2")
    assert summary["two_qubit"] == 2 and len(summary["layout"]) == 2
    assert compare.transpile_summary(layer.circuit, "FakeManilaV2") is summary  # cached
