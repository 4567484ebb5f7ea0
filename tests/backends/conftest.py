"""Fixtures of the backend tests."""

from __future__ import annotations

import numpy as np
import pytest
from backend_refs import N_QUBITS, gate_angle_circuit, z_observables

from hqnn_core.backends import CircuitSpec


@pytest.fixture
def z_spec() -> CircuitSpec:
    return CircuitSpec.build(gate_angle_circuit(), measurement="z", observables=z_observables())


@pytest.fixture
def angles() -> np.ndarray:
    return np.random.default_rng(7).uniform(-np.pi, np.pi, (4, 4 * N_QUBITS))
