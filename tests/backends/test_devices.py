"""Fake-device listing, summaries and transpilation."""

from __future__ import annotations

import pytest
from backend_refs import gate_angle_circuit

from hqnn_core.backends import devices
from hqnn_core.errors import ConfigError


def test_list_is_sorted_by_size() -> None:
    names = devices.list_fake_devices()
    assert "FakeManilaV2" in names and "FakeTorino" in names
    sizes = [devices.fake_device_qubits(n) for n in names]
    assert sizes == sorted(sizes)


def test_device_summary() -> None:
    summary = devices.device_summary("FakeManilaV2")
    assert summary["qubits"] == 5
    assert {"cx", "rz", "sx", "x"} <= set(summary["basis_gates"])
    assert 0 < summary["median_readout_error"] < 0.2
    assert 0 < summary["median_2q_error"] < 0.1
    assert summary["median_t1_us"] > 1


def test_transpile_for_device() -> None:
    result = devices.transpile_for_device(gate_angle_circuit(), "FakeManilaV2", seed=0)
    assert result.two_qubit_count >= 6  # three RZZ become at least two CX each
    assert result.depth > 0 and len(result.layout) == 3
    assert set(result.circuit.count_ops()) <= {"cx", "rz", "sx", "x", "measure", "barrier"}


def test_unknown_device() -> None:
    with pytest.raises(ConfigError, match="FakeManilaV2"):
        devices.device_summary("FakeNowhere")
