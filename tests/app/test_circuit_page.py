"""The Circuit page: the controls change the configuration, the drawing and the counts."""

from __future__ import annotations

import time
from typing import Callable

from streamlit.testing.v1 import AppTest

from hqnn_ui.state import CONFIG_KEY, config_to_query

Metric = Callable[[AppTest, str], str]


def test_renders_the_default_circuit_with_counts_and_exports(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("circuit.py")
    assert not at.exception
    assert metric(at, "Qubits") == "8"  # the default circuit (8 qubits since the recipe)
    assert int(metric(at, "Parameters")) > 4
    assert len(at.image) >= 2  # the circuit and its transpiled version
    assert int(metric(at, "Two-qubit gates on device")) >= 1
    assert {b.label for b in at.get("download_button")} == {"Download OpenQASM 3",
                                                             "Download QPY"}


def test_changing_qubits_updates_config_and_stats(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("circuit.py")
    params = int(metric(at, "Parameters"))
    at.slider(key="w.circuit.n_qubits").set_value(3).run()
    assert not at.exception
    assert at.session_state[CONFIG_KEY].circuit.n_qubits == 3
    assert metric(at, "Qubits") == "3"
    assert int(metric(at, "Parameters")) < params
    assert "3 qubits" in " ".join(c.value for c in at.sidebar.caption)


def test_an_impossible_combination_shows_the_reason(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("circuit.py")
    at.selectbox(key="w.circuit.encoding").set_value("amplitude")
    at.toggle(key="w.circuit.reupload").set_value(True).run()
    assert not at.exception
    assert any("cannot be re-uploaded" in e.value for e in at.error)
    assert at.session_state[CONFIG_KEY].circuit.encoding == "angle"


def test_a_huge_circuit_is_counted_but_not_drawn(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("circuit.py")
    at.slider(key="w.circuit.n_qubits").set_value(20)
    at.number_input(key="w.circuit.layers").set_value(50).run()
    assert not at.exception
    assert any("too many to draw" in i.value for i in at.info)
    assert int(metric(at, "Gates")) > 800


def test_model_kind_and_front_are_chosen_on_screen(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("circuit.py")
    assert at.radio(key="w.model.kind").value == "hybrid"
    at.selectbox(key="w.model.front").set_value("cnn").run()
    assert at.session_state[CONFIG_KEY].model.front == "cnn"
    at.radio(key="w.model.kind").set_value("quantum").run()
    assert not at.exception
    assert list(at.selectbox(key="w.model.front").options) == [
        "PCA (fixed)", "The encoding's own (fixed)"]
    model = at.session_state[CONFIG_KEY].model
    assert (model.kind, model.front) == ("quantum", "none")
    assert config_to_query(at.session_state[CONFIG_KEY])["model.kind"] == "quantum"  # in links


def test_one_step_of_a_wide_circuit_is_drawn_on_its_own(
        open_page: Callable[[str], AppTest]) -> None:
    at = open_page("circuit.py")
    at.slider(key="w.circuit.n_qubits").set_value(12).run()
    assert list(at.select_slider(key="circuit_part").options) == [
        "whole circuit", "encoding", "layer 1", "layer 2"]
    at.select_slider(key="circuit_part").set_value("layer 2").run()
    assert not at.exception
    assert any(c.startswith("Layer 2") for i in at.image for c in i.captions)


def test_diagnostics_run_on_demand_in_the_background_and_show_their_plots(
        open_page: Callable[[str], AppTest], metric: Metric) -> None:
    at = open_page("circuit.py")
    at.number_input(key="w.circuit.layers").set_value(3).run()  # a family no other test uses
    assert not at.get("plotly_chart")
    at.button(key="circuit_diagnostics_button").click().run()
    assert not at.exception
    for _ in range(240):  # the fragment polls the background job; AppTest re-runs by hand
        if any(m.label == "Entangling capability Q" for m in at.metric):
            break
        assert at.get("progress") or at.get("plotly_chart")
        time.sleep(0.5)
        at.run()
    assert 0 < float(metric(at, "Expressibility (KL from Haar)")) < 1
    assert 0 < float(metric(at, "Entangling capability Q")) <= 1
    assert len(at.get("plotly_chart")) == 3
    at.slider(key="w.circuit.n_qubits").set_value(3).run()  # another family: press again
    assert not at.get("plotly_chart")
    at.slider(key="w.circuit.n_qubits").set_value(8).run()  # back to the default 8: kept, no button needed
    assert len(at.get("plotly_chart")) == 3


def test_initialisation_and_input_scaling_are_chosen_on_screen(
        open_page: Callable[[str], AppTest]) -> None:
    at = open_page("circuit.py")
    init = at.selectbox(key="w.circuit.init")
    assert init.value == "uniform" and "never entangles" in init.help
    assert at.toggle(key="w.circuit.input_scale").value is True
    init.set_value("identity_blocks").run()
    at.toggle(key="w.circuit.input_scale").set_value(False).run()
    assert not at.exception and not at.error
    circuit = at.session_state[CONFIG_KEY].circuit
    assert (circuit.init, circuit.input_scale) == ("identity_blocks", False)
    query = config_to_query(at.session_state[CONFIG_KEY])
    assert (query["circuit.init"], query["circuit.input_scale"]) == ("identity_blocks", "false")
    at.switch_page("views/train.py").run()
    at.switch_page("views/circuit.py").run()
    assert at.selectbox(key="w.circuit.init").value == "identity_blocks"
    assert at.toggle(key="w.circuit.input_scale").value is False
    at.selectbox(key="w.circuit.encoding").set_value("basis").run()
    assert at.toggle(key="w.circuit.input_scale").disabled  # basis inputs are bits, not angles


def test_identity_blocks_with_odd_layers_is_refused_in_one_sentence(
        open_page: Callable[[str], AppTest]) -> None:
    at = open_page("circuit.py")
    at.selectbox(key="w.circuit.init").set_value("identity_blocks")
    at.number_input(key="w.circuit.layers").set_value(3).run()
    assert not at.exception
    [error] = at.error
    assert "needs an even number of layers (got 3)" in error.value
    assert error.value.count(". ") == 0 and error.value.endswith(".")
    assert at.session_state[CONFIG_KEY].circuit.init == "uniform"
