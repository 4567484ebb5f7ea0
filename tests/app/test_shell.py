"""The studio shell: navigation, the shared sidebar, the configuration in the URL,
presentation mode."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from hqnn_core.config import CircuitConfig, DataConfig, RunConfig, TrainConfig
from hqnn_ui.state import CONFIG_KEY


def sidebar_text(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption") for e in at.sidebar.get(kind))


def test_app_renders_home_with_the_sidebar(studio: AppTest) -> None:
    at = studio.run()
    assert not at.exception
    assert at.title[0].value == "hqnn studio"
    assert "Digits" in sidebar_text(at)
    assert "8 qubits" in sidebar_text(at)
    assert at.sidebar.toggle(key="presentation_mode").value is False
    assert at.session_state[CONFIG_KEY] == RunConfig()


def test_configuration_round_trips_through_the_url(studio: AppTest, runs_dir) -> None:
    cfg = RunConfig(data=DataConfig(classes=(0, 3, 7), train_size=300),
                    circuit=CircuitConfig(n_qubits=6, encoding="iqp", reupload=True),
                    train=TrainConfig(lr=0.05, shots=1000))
    studio.session_state[CONFIG_KEY] = cfg
    at = studio.run()
    assert not at.exception
    params = dict(at.query_params)
    assert params["circuit.n_qubits"] == ["6"] or params["circuit.n_qubits"] == "6"
    assert "model.kind" not in params  # defaults stay out of the link

    fresh = AppTest.from_file(studio._script_path, default_timeout=studio.default_timeout)
    for key, value in params.items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception
    assert fresh.session_state[CONFIG_KEY] == cfg


@pytest.mark.parametrize("key, value", [("circuit.n_qubits", "99"), ("data.classes", "a,b"),
                                        ("train.lr", "fast"), ("circuit.colour", "red")])
def test_a_bad_link_warns_and_keeps_the_defaults(studio: AppTest, key: str, value: str) -> None:
    studio.query_params[key] = value
    at = studio.run()
    assert not at.exception
    assert any("could not be used" in w.value for w in at.warning)
    assert at.session_state[CONFIG_KEY] == RunConfig()


def test_the_share_link_holds_the_configuration(studio: AppTest) -> None:
    studio.session_state[CONFIG_KEY] = RunConfig(circuit=CircuitConfig(n_qubits=5))
    at = studio.run()
    links = [c.value for c in at.sidebar.code]
    assert any("circuit.n_qubits=5" in link for link in links)


def test_presentation_mode_shows_guided_steps_and_a_draw_shortcut(studio: AppTest) -> None:
    at = studio.run()
    at.sidebar.toggle(key="presentation_mode").set_value(True).run()
    assert not at.exception
    labels = [link.label for link in at.main.get("page_link")]
    assert any(label.startswith("1.") for label in labels)
    at.button(key="presentation_leave").click().run()
    assert at.sidebar.toggle(key="presentation_mode").value is False
    assert not [b for b in at.button if b.key == "presentation_leave"]


def test_qiskit_survives_streamlit_script_threads() -> None:
    """qiskit first imported through hqnn_ui in a short-lived thread (as a Streamlit script
    run does) stays usable from later threads; without the guard this segfaults."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import threading\n"
        "def run():\n"
        "    import hqnn_ui\n"
        "    from qiskit.circuit import ParameterVector, QuantumCircuit\n"
        "    x = ParameterVector('x', 3); qc = QuantumCircuit(3)\n"
        "    for q in range(3): qc.ry(x[q], q)\n"
        "for _ in range(4):\n"
        "    t = threading.Thread(target=run); t.start(); t.join()\n"
        "print('survived')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "survived" in done.stdout


def test_a_session_in_a_link_gives_no_control_of_that_job(studio: AppTest, runs_dir) -> None:
    """An address-bar URL with someone's ``?session=`` neither shows nor stops their job."""
    from hqnn_core.studio.jobs import get_registry

    victim = "0123456789abcdef0123456789abcdef"
    job = get_registry().start(victim, RunConfig(data=DataConfig(train_size=60, test_size=20),
                                                 train=TrainConfig(epochs=400)), runs_dir)
    try:
        studio.query_params["session"] = victim
        at = studio.run()
        assert not at.exception
        assert "session" not in dict(at.query_params)
        assert at.session_state["hqnn_session_key"] != victim
        assert "No training job" in sidebar_text(at)
        at.switch_page("views/train.py").run()
        assert not [b for b in at.button if b.label == "Stop"]
        assert job.snapshot().active
    finally:
        get_registry().forget(victim)
    assert job.join(30)
