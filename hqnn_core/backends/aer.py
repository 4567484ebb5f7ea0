"""Qiskit Aer execution of a layer's gate-angle circuit, many parameter sets per call.

One circuit is broadcast over all parameter sets with ``AerSimulator.run(circuit,
parameter_binds=[{φ_g: values}])``, a single simulator call per batch (forward and all
parameter-shifted copies together).

* ``shots=None``: exact, noiseless. ``"z"``/``"zz"`` save each observable's expectation
  value, ``"probs"`` saves the probabilities (statevector method).
* ``shots=N``: outputs come from sampled counts (see ``readout.py``), with seeds drawn from
  the runner's seeded generator. Noiseless, up to 12 qubits: Aer computes the exact
  probabilities of every parameter set and the shots are drawn from them with
  ``Generator.multinomial`` — the same distribution as sampling measurements, without Aer's
  per-experiment shot loop (about 5x faster on this machine). Otherwise the measured circuit
  is sampled by Aer. A ``noise=`` fake
  device adds its noise model, coupling map and basis gates (``AerSimulator.from_backend``)
  and the circuit is transpiled once with that device's preset pass manager. Readout errors
  only exist for sampled measurements, so a noisy device needs shots.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from hqnn_core.backends.executor import SampledExecutor
from hqnn_core.backends.program import CircuitSpec, PreparedCircuit, prepare
from hqnn_core.backends.readout import MAX_DENSE_QUBITS, SparseCounts
from hqnn_core.errors import BackendError, ConfigError

logger = logging.getLogger(__name__)

# Small circuits gain nothing from OpenMP threads; on a shared 2-core machine they cost ~6x.
SMALL_CIRCUIT_QUBITS = 14
SMALL_CIRCUIT_OPTIONS = {"max_parallel_threads": 1}


def active_qubits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Indices of the qubits any instruction of ``circuit`` touches."""
    return tuple(sorted({circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits}))


@lru_cache(maxsize=32)
def _noise_model(device: Any, qubits: tuple[int, ...]) -> Any:
    from qiskit.transpiler import Target
    from qiskit_aer.noise import NoiseModel

    full = device.target
    keep = set(qubits)
    target = Target(num_qubits=full.num_qubits, dt=full.dt,
                    qubit_properties=full.qubit_properties)
    for name in full.operation_names:
        props = full[name]
        if not props or None in props:
            continue
        kept = {qargs: p for qargs, p in props.items() if set(qargs) <= keep}
        if kept:
            target.add_instruction(full.operation_from_name(name), kept, name=name)
    restricted = SimpleNamespace(version=2, target=target, dt=full.dt,
                                 operation_names=list(full.operation_names), name=device.name)
    return NoiseModel.from_backend(restricted)


def device_noise_model(device: Any, qubits: tuple[int, ...]) -> Any:
    """The Aer noise model of ``device`` restricted to ``qubits`` (cached).

    ``AerSimulator.from_backend`` builds errors for every gate of the whole device, over a
    minute for a 133-qubit one; a circuit only ever feels the noise of the qubits it uses.
    """
    return _noise_model(device, tuple(sorted(qubits)))


class AerExecutor(SampledExecutor):
    """Runs ``(M, G)`` gate angles on Aer and returns ``(M, K)`` layer outputs."""

    def __init__(self, spec: CircuitSpec, *, shots: int | None = None, noise: str | Any = None,
                 seed: int | None = None, mitigate: bool = False) -> None:
        from qiskit_aer import AerSimulator

        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int)
                                  or shots < 1):
            raise ConfigError(f"shots must be a positive whole number or None, got {shots!r}.")
        if noise is not None and shots is None:
            raise ConfigError(
                "A noisy device is simulated by sampling measurements; pass shots=... "
                "(e.g. 4000) together with noise."
            )
        if mitigate and shots is None:
            raise ConfigError("Readout mitigation needs sampled results; pass shots=... as well.")
        super().__init__(spec, mitigate=mitigate)
        self.shots = shots
        self._rng = np.random.default_rng(seed)
        self.device: Any = None
        options = SMALL_CIRCUIT_OPTIONS if spec.n_qubits <= SMALL_CIRCUIT_QUBITS else {}
        if noise is not None:
            from hqnn_core.backends.devices import resolve_backend

            self.device = resolve_backend(noise)
        self.prepared: PreparedCircuit = prepare(
            spec, self.device, seed=int(self._rng.integers(2**31)) if seed is not None else 0
        )
        if self.device is not None:
            model = device_noise_model(self.device, active_qubits(self.prepared.measured))
            self.simulator = AerSimulator.from_backend(self.device, noise_model=model, **options)
        else:
            self.simulator = AerSimulator(method="statevector", **options)
        self._exact = self._exact_circuit(probs=spec.measurement == "probs")
        self._probs = self._exact_circuit(probs=True)

    @property
    def target(self) -> Any | None:
        """The noisy fake device circuits are transpiled for (None when noiseless)."""
        return self.device

    @property
    def name(self) -> str:
        """Short description for logs and the UI."""
        where = f"noise={self.device.name}" if self.device is not None else "noiseless"
        return f"aer ({where}, shots={self.shots})"

    def _exact_circuit(self, *, probs: bool) -> QuantumCircuit:
        circuit = self.prepared.circuit.copy()
        qubits = list(range(self.spec.n_qubits))
        if probs:
            circuit.save_probabilities(qubits, label="probs")
        else:
            for k, obs in enumerate(self.spec.observables):
                circuit.save_expectation_value(obs, qubits, label=f"o{k}")
        return circuit

    def _next_seed(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def _run(self, circuit: QuantumCircuit, angles: np.ndarray, **options: Any) -> Any:
        values = self.prepared.bind_values(angles, circuit)  # (M, P)
        binds = [{p: values[:, i] for i, p in enumerate(circuit.parameters)}]
        try:
            if circuit.num_parameters:
                return self.simulator.run(circuit, parameter_binds=binds, **options).result()
            return self.simulator.run([circuit] * angles.shape[0], **options).result()
        except Exception as exc:  # Aer reports failures as generic exceptions
            raise BackendError(f"Aer could not run the circuit: {exc}") from exc

    def counts(self, angles: np.ndarray) -> SparseCounts:
        """Sampled distributions ``(M,)`` of the measured logical qubits."""
        if self.device is None and self.spec.n_qubits <= MAX_DENSE_QUBITS:
            exact = self._run(self._probs, angles)
            probs = np.stack([np.asarray(exact.data(i)["probs"]) for i in range(angles.shape[0])])
            probs = np.clip(probs, 0.0, None)
            probs /= probs.sum(axis=1, keepdims=True)
            counts = self._rng.multinomial(self.shots, probs)  # (M, 2**n)
            return SparseCounts.from_dense(counts / self.shots)
        result = self._run(self.prepared.measured, angles, shots=self.shots,
                           seed_simulator=self._next_seed())
        tables = [result.get_counts(i) for i in range(angles.shape[0])]
        return SparseCounts.from_count_dicts(tables, self.spec.n_qubits)

    def _run_measured(self, circuits: list[QuantumCircuit]) -> SparseCounts:
        result = self.simulator.run(circuits, shots=self.shots or 4096,
                                    seed_simulator=self._next_seed()).result()
        tables = [result.get_counts(i) for i in range(len(circuits))]
        return SparseCounts.from_count_dicts(tables, self.spec.n_qubits)

    def __call__(self, angles: np.ndarray) -> np.ndarray:
        """Outputs ``(M, K)`` for gate angles ``(M, G)``: exact without shots, else sampled."""
        if self.shots is None:
            return self._exact_outputs(angles)
        return super().__call__(angles)

    def _exact_outputs(self, angles: np.ndarray) -> np.ndarray:
        result = self._run(self._exact, angles)
        m = angles.shape[0]
        if self.spec.measurement == "probs":
            return np.stack([np.asarray(result.data(i)["probs"]) for i in range(m)])
        k_out = len(self.spec.observables)
        return np.asarray(
            [[float(np.real(result.data(i)[f"o{k}"])) for k in range(k_out)] for i in range(m)]
        )

