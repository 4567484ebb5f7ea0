"""The circuit diagnostics job: off the caller's thread, shared per family, bounded."""

from __future__ import annotations

import dataclasses

import numpy as np

from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics.expressibility import expressibility
from hqnn_core.diagnostics.gradients import gradient_variance
from hqnn_core.studio import diagnostics


def test_the_job_computes_the_same_numbers_as_the_diagnostics(monkeypatch) -> None:
    monkeypatch.setattr(diagnostics, "QUBITS", (2, 3))
    monkeypatch.setattr(diagnostics, "DEPTHS", (1, 2))
    monkeypatch.setattr(diagnostics, "PAIRS", 200)
    circuit = CircuitConfig(n_qubits=3, layers=1, entanglement="linear", measurement="zz")
    job = diagnostics.diagnostics_job(circuit)
    assert job is diagnostics.diagnostics_job(circuit)  # shared, not started twice
    assert job.join(120)
    snap = job.snapshot()
    assert snap.finished and snap.error is None and snap.done == snap.total == 4 + 4
    expected = gradient_variance(dataclasses.replace(circuit, n_qubits=3, layers=2)).variance
    assert snap.gradients[1][1] == expected
    assert snap.expressibility["layers"] == [1, 2, 3, 4]
    assert snap.expressibility["kl"][0] == expressibility(circuit, n_pairs=200).kl
    assert np.asarray(snap.expressibility["fidelities"]).shape == (200,)


def test_sizes_are_capped_and_unasked_families_are_not_started() -> None:
    big = CircuitConfig(n_qubits=14, layers=30, entanglement="full", rotation="x")
    assert diagnostics.sized(big).n_qubits == diagnostics.EXPRESSIBILITY_QUBITS
    assert diagnostics.sized(big).layers == diagnostics.MAX_DEPTH
    assert diagnostics.diagnostics_job(big, start=False) is None
    amplitude = CircuitConfig(n_qubits=8, encoding="amplitude")
    assert max(diagnostics.sweep_qubits(amplitude)) == 8
