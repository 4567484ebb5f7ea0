"""The device noise model restricted to a circuit's qubits behaves like the full one."""

from __future__ import annotations

import numpy as np
from qiskit_aer import AerSimulator

from hqnn_core.backends import CircuitSpec
from hqnn_core.backends.aer import AerExecutor, active_qubits
from hqnn_core.backends.devices import get_fake_backend


def test_restricted_noise_model_gives_identical_samples(z_spec: CircuitSpec,
                                                        angles: np.ndarray) -> None:
    executor = AerExecutor(z_spec, shots=2000, noise="FakeManilaV2", seed=1)
    used = active_qubits(executor.prepared.measured)
    assert set(executor.prepared.physical) <= set(used)
    executor._rng = np.random.default_rng(5)
    restricted = executor(angles)
    executor.simulator = AerSimulator.from_backend(get_fake_backend("FakeManilaV2"),
                                                   max_parallel_threads=1)
    executor._rng = np.random.default_rng(5)
    np.testing.assert_array_equal(executor(angles), restricted)
