"""The Hardware page: renders offline, compares backends, runs a local-testing-mode job."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hqnn_core.backends import ibm
from hqnn_core.config import CircuitConfig, RunConfig
from hqnn_ui.state import CONFIG_KEY

PAGE = Path(__file__).resolve().parents[2] / "views" / "hardware.py"
TIMEOUT = 300
FOUR_QUBITS = RunConfig(circuit=CircuitConfig(n_qubits=4))  # fits FakeManilaV2 (5 qubits)


@pytest.fixture(autouse=True)
def no_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ibm.TOKEN_ENV, raising=False)
    monkeypatch.setattr(ibm, "_saved_account_exists", lambda: False)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_page_renders_offline_and_compares(runs_dir: Path) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.session_state[CONFIG_KEY] = FOUR_QUBITS
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "No token" in text
    assert button(at, "Save account on this computer").disabled
    assert any(m.label == "Two-qubit gates" for m in at.metric)
    button(at, "Compare backends").click().run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table["backend"]) == ["exact", "aer 2000 shots", "FakeManilaV2 2000 shots raw",
                                      "FakeManilaV2 2000 shots mitigated"]
    assert table.shape[1] == 1 + 4 + 1  # backend, <Z0>..<Z3>, seconds


def test_local_testing_mode_job_through_the_studio(studio: AppTest) -> None:
    studio.session_state[CONFIG_KEY] = FOUR_QUBITS
    studio.run()
    at = studio.switch_page("views/hardware.py").run()
    assert not at.exception
    button(at, "Submit to IBM Quantum Runtime").click().run()
    job, _ = at.session_state["hardware_jobs"][0]
    job.join(TIMEOUT)
    at.run()
    assert not at.exception
    assert job.snapshot()["error"] is None
    statuses = " ".join(m.value for m in at.markdown)
    assert "DONE" in statuses
    assert list(at.dataframe[-1].value["backend"]) == ["fake_manila raw", "fake_manila mitigated"]


def test_selected_run_compares_class_probabilities(tmp_path: Path) -> None:
    from hqnn_core.config import CircuitConfig, DataConfig, RunConfig, TrainConfig
    from hqnn_core.learning.training import fit

    cfg = RunConfig(data=DataConfig(name="digits", classes=(0, 1, 2), train_size=60,
                                    test_size=15),
                    circuit=CircuitConfig(n_qubits=3, layers=1),
                    train=TrainConfig(epochs=1, batch_size=30))
    run_dir = tmp_path / "run"
    fit(cfg, run_dir=run_dir)
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.session_state["selected_run"] = str(run_dir)
    at.run()
    assert not at.exception
    assert any("trained model" in c.value for c in at.caption)
    button(at, "Compare backends").click().run()
    assert not at.exception
    table = at.dataframe[-1].value
    classes = [c for c in table.columns if c not in ("backend", "seconds")]
    assert classes == ["0", "1", "2"]
    assert (table[classes].sum(axis=1) - 1).abs().max() < 1e-5
