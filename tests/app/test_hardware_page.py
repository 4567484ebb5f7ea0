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
    job = at.session_state["hardware_jobs"][0]
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


def test_the_jobs_poller_runs_only_while_a_job_runs(open_page: Callable[[str], AppTest],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import streamlit as st

    from hqnn_core.studio import hardware as compare

    polls: list[float | None] = []
    real_fragment = st.fragment

    def recording_fragment(func=None, *, run_every=None):  # type: ignore[no-untyped-def]
        if getattr(func, "__qualname__", "").startswith("show_jobs"):  # the page's poller
            polls.append(run_every)
        return real_fragment(func, run_every=run_every)

    release = threading.Event()
    real_rows = compare.sampled_rows

    def held_rows(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(TIMEOUT)
        return real_rows(*args, **kwargs)

    monkeypatch.setattr(st, "fragment", recording_fragment)
    monkeypatch.setattr(compare, "sampled_rows", held_rows)
    at = open_page("hardware.py")
    assert polls == []  # no job, no poller
    button(at, "Submit to IBM Quantum Runtime").click().run()
    assert polls[-1] == compare.POLL_SECONDS
    release.set()
    job = at.session_state["hardware_jobs"][0]
    assert job.join(TIMEOUT)
    at.run()
    assert not at.exception
    assert polls[-1] is None
    assert "DONE" in " ".join(m.value for m in at.markdown)


def test_the_transpiled_view_uses_the_layers_own_circuit(runs_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp

    from hqnn_core.learning.layer import QuantumLayer
    from hqnn_core.studio import hardware as compare

    x, w = ParameterVector("x", 2), ParameterVector("w", 1)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    for _ in range(3):
        qc.rzx(w[0], 0, 1)
    layer = QuantumLayer.from_circuit(qc, x, w, SparsePauliOp("IZ"))
    subject = compare.Subject(layer, torch.tensor([[0.2, 0.4]]), None, ["<Z0>"], "my circuit")
    monkeypatch.setattr(compare, "subject_for", lambda *args, **kwargs: subject)
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT).run()
    assert not at.exception
    expected = compare.transpile_summary(layer.circuit, "FakeManilaV2")
    assert expected["two_qubit"] > 0
    shown = next(m.value for m in at.metric if m.label == "Two-qubit gates")
    assert int(shown) == expected["two_qubit"]


def test_the_demo_model_gets_devices_with_enough_qubits(runs_dir: Path) -> None:
    """The shipped 8-qubit demo beside the session's 4-qubit circuit: the device list is the
    model's, the default device works and Compare is there."""
    demo = Path(__file__).resolve().parents[2] / "assets" / "models" / "digits-hybrid"
    if not (demo / "config.json").is_file():
        pytest.skip("the digits demo model is not shipped in this checkout")
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.session_state["selected_run"] = str(demo)
    at.run()
    assert not at.exception and not at.error
    from hqnn_core.backends.devices import fake_device_qubits

    devices = at.selectbox[0].options
    assert devices and all(fake_device_qubits(d) >= 8 for d in devices)
    assert any("at least 8 qubits" in c.value for c in at.caption)
    button(at, "Compare backends")
