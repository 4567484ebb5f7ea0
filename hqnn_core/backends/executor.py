"""What every sampled executor shares: calibration circuits, readout mitigation, outputs.

An executor maps gate angles ``(M, G)`` to layer outputs ``(M, K)``. Subclasses (Aer, IBM)
say how a batch of parameter sets is sampled (``counts``) and how a list of measured
logical circuits is run (``_run_measured``); this base transpiles calibration circuits onto
the model's physical qubits, calibrates readout once, and turns counts into outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from hqnn_core.backends.mitigation import ReadoutCalibration, calibrate
from hqnn_core.backends.program import CircuitSpec, PreparedCircuit
from hqnn_core.backends.readout import Readout, SparseCounts


class SampledExecutor:
    """Base of the executors whose outputs come from sampled measurements."""

    spec: CircuitSpec
    shots: int | None
    prepared: PreparedCircuit
    mitigate: bool

    def __init__(self, spec: CircuitSpec, *, mitigate: bool) -> None:
        self.spec = spec
        self.mitigate = mitigate
        self.readout = Readout(spec.measurement, list(spec.observables), spec.n_qubits)
        self.calibration: ReadoutCalibration | None = None

    @property
    def target(self) -> Any | None:
        """The device circuits are transpiled for, or None for a noiseless simulator."""
        raise NotImplementedError

    def counts(self, angles: np.ndarray) -> SparseCounts:
        """Sampled distributions ``(M,)`` of the measured logical qubits."""
        raise NotImplementedError

    def _run_measured(self, circuits: list[QuantumCircuit]) -> SparseCounts:
        """Sampled distributions, one row per measured circuit (already on the target)."""
        raise NotImplementedError

    def sample_circuits(self, circuits: list[QuantumCircuit]) -> np.ndarray:
        """Dense probabilities ``(len, 2**n)`` of measured logical circuits on the model's qubits."""
        if self.target is not None:
            from qiskit.transpiler import generate_preset_pass_manager

            manager = generate_preset_pass_manager(backend=self.target, optimization_level=0,
                                                   initial_layout=list(self.prepared.physical))
            circuits = manager.run(circuits)
        return self._run_measured(circuits).dense()

    def calibrate(self) -> ReadoutCalibration:
        """Measure (once) and return this device's per-qubit readout calibration."""
        if self.calibration is None:
            self.calibration = calibrate(self.sample_circuits, self.spec.n_qubits)
        return self.calibration

    def __call__(self, angles: np.ndarray) -> np.ndarray:
        """Outputs ``(M, K)`` for gate angles ``(M, G)``."""
        counts = self.counts(angles)
        if self.mitigate:
            probs = self.calibrate().apply(counts.dense(), clip=self.spec.measurement == "probs")
            return self.readout.from_probs(probs)
        return self.readout.from_counts(counts)
