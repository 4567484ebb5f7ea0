"""IBM path through runtime's local testing mode, and token handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from backend_refs import reference

from hqnn_core.backends import CircuitSpec, ibm, make_runner
from hqnn_core.errors import BackendError, ConfigError


def test_local_testing_mode_runs_and_reports_status(z_spec: CircuitSpec,
                                                    angles: np.ndarray) -> None:
    seen: list[dict] = []
    runner = make_runner(z_spec, backend="ibm", ibm_backend="FakeManilaV2", shots=4000, seed=2,
                         status_callback=seen.append)
    x = torch.tensor(angles, dtype=torch.float64, requires_grad=True)
    out = runner(x)
    exact = reference(z_spec.circuit, angles, "z", list(z_spec.observables))
    assert out.shape == (4, 3)
    assert np.abs(out.detach().numpy() - exact).max() < 0.3
    assert np.corrcoef(out.detach().numpy().ravel(), exact.ravel())[0, 1] > 0.9
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert seen[0]["status"] == "SUBMITTED" and seen[-1]["status"] == "DONE"
    assert seen[-1]["backend"] == "fake_manila"


def test_missing_token_is_a_clear_backend_error(monkeypatch: pytest.MonkeyPatch,
                                                z_spec: CircuitSpec) -> None:
    monkeypatch.delenv(ibm.TOKEN_ENV, raising=False)
    monkeypatch.setattr(ibm, "_saved_account_exists", lambda: False)
    assert ibm.token_source() is None
    with pytest.raises(BackendError) as info:
        make_runner(z_spec, backend="ibm", ibm_backend="ibm_torino")
    message = str(info.value)
    assert "QISKIT_IBM_TOKEN" in message and "save_token" in message
    assert "Traceback" not in message and "\n" not in message


def test_token_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ibm, "_saved_account_exists", lambda: False)
    monkeypatch.setenv(ibm.TOKEN_ENV, "not-a-real-token")
    assert ibm.token_source() == "environment"
    assert ibm.token_source("explicit") == "argument"


def test_empty_token_cannot_be_saved() -> None:
    with pytest.raises(ConfigError, match="empty"):
        ibm.save_token("   ")


def test_local_testing_mode_is_seeded(z_spec: CircuitSpec, angles: np.ndarray) -> None:
    x = torch.tensor(angles, dtype=torch.float64)
    first = make_runner(z_spec, backend="ibm", ibm_backend="FakeManilaV2", shots=500, seed=4)
    again = make_runner(z_spec, backend="ibm", ibm_backend="FakeManilaV2", shots=500, seed=4)
    assert first.executor.local
    assert torch.equal(first(x), again(x))


def test_device_descriptions_use_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    class OfflineService:
        def backends(self, **_: object) -> list:
            return [FakeManilaV2()]

    monkeypatch.setattr(ibm, "get_service", lambda token=None: OfflineService())
    (row,) = ibm.describe_ibm_devices("not-a-real-token")
    assert row["name"] == "fake_manila" and row["qubits"] == 5


class _CountingBatch:
    """Wraps runtime's Batch, recording every Batch opened and every job's Batch."""

    opened: list = []
    original: type = object

    def __new__(cls, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        batch = cls.original(*args, **kwargs)
        cls.opened.append(batch)
        return batch


def test_calibration_and_every_call_share_one_batch(monkeypatch: pytest.MonkeyPatch,
                                                    z_spec: CircuitSpec,
                                                    angles: np.ndarray) -> None:
    import qiskit_ibm_runtime

    _CountingBatch.opened, _CountingBatch.original = [], qiskit_ibm_runtime.Batch
    monkeypatch.setattr(qiskit_ibm_runtime, "Batch", _CountingBatch)
    runner = make_runner(z_spec, backend="ibm", ibm_backend="FakeManilaV2", shots=300, seed=1,
                         mitigate=True)
    x = torch.tensor(angles[:2], dtype=torch.float64)
    runner(x)  # calibration circuits, then the batch
    runner(x)
    assert runner.executor.calibration is not None
    assert len(runner.executor.jobs) == 3
    assert len(_CountingBatch.opened) == 1
    runner.executor.close()
    runner(x)  # a closed executor opens a new Batch
    assert len(_CountingBatch.opened) == 2
