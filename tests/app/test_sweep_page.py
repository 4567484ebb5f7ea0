"""AppTest of views/sweep.py: renders, bad specs give one sentence, and a tiny sweep started
from the page (a real child ``hqnn sweep`` with a local Ray) fills the table, and its best
configuration becomes the studio's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_core.learning.runs import RunStore
from hqnn_core.studio.sweep_studio import get_sweep_registry
from hqnn_ui.state import CONFIG_KEY
from tests.sweep_helpers import short_temp_dir, wait_until_gone

POLLS = 600  # at most ~5 minutes of polling on a busy machine; a healthy sweep needs far less


def tiny_config() -> RunConfig:
    return RunConfig(data=DataConfig(name="digits", classes=(0, 1), train_size=80, test_size=30),
                     circuit=CircuitConfig(n_qubits=2, layers=1),
                     model=ModelConfig(kind="hybrid"),
                     train=TrainConfig(epochs=1, batch_size=20, lr=0.05))


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def status_line(at: AppTest) -> str:
    return next((m.value for m in at.markdown if m.value.startswith("**Status:**")), "")


def test_renders_with_the_studio_configuration_as_base(open_page) -> None:
    at = open_page("sweep.py")
    assert not at.exception and not at.error
    assert not button(at, "Start sweep").disabled
    assert at.multiselect(key="sweep_keys").value == ["train.lr", "circuit.layers"]
    assert any("8 trials" in c.value for c in at.caption)
    assert any("Start sweep" in i.value for i in at.info)


@pytest.mark.parametrize("text, sentence", [
    ('{"base": {}, "space": {}', "is not valid JSON (line 1, column 25)"),
    ('{"base": {}, "space": {"train.lr": {"range": [1, 0]}}, "trials": 2}', "low < high"),
    ('{"base": {"train": {"lr": "fast"}}, "space": {}, "trials": 2}', "train.lr"),
    ('{"base": {}, "space": {"circuit.colour": [1]}, "trials": 2}', "not a field of 'circuit'"),
])
def test_a_bad_json_spec_is_one_sentence_and_kept(open_page, text: str, sentence: str) -> None:
    at = open_page("sweep.py")
    at.segmented_control(key="sweep_mode").set_value("Paste JSON").run()
    assert '"base"' in at.text_area(key="sweep_json").value  # starts from the studio's config
    at.text_area(key="sweep_json").set_value(text).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and sentence in errors[0], errors
    assert errors[0].count(". ") == 0 and "Traceback" not in errors[0]
    assert button(at, "Start sweep").disabled
    assert at.text_area(key="sweep_json").value == text  # nothing lost


def test_an_empty_choice_is_one_sentence(open_page) -> None:
    at = open_page("sweep.py")
    at.multiselect(key="sweep_keys").set_value(["circuit.measurement"]).run()
    at.multiselect(key="sweep_dim_circuit.measurement").set_value([]).run()
    assert [e.value for e in at.error] == ["space 'circuit.measurement': choice needs a "
                                           "non-empty list of values."]
    assert button(at, "Start sweep").disabled


@pytest.mark.slow
def test_a_tiny_sweep_from_the_page_fills_the_table_and_its_best_is_used(
        studio: AppTest, runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = short_temp_dir("hqp")
    monkeypatch.setenv("HQNN_RAY_TEMP_DIR", temp)
    at = studio
    at.session_state[CONFIG_KEY] = tiny_config()
    at.run()
    at.switch_page("views/sweep.py").run()
    at.multiselect(key="sweep_keys").set_value(["train.lr"]).run()
    at.number_input(key="sweep_lo_train.lr").set_value(0.002).run()
    at.number_input(key="sweep_hi_train.lr").set_value(0.2).run()
    at.number_input(key="sweep_trials").set_value(2).run()
    at.text_input(key="sweep_seeds").set_value("1").run()
    at.number_input(key="sweep_finalists").set_value(2).run()
    at.toggle(key="sweep_asha").set_value(False).run()
    try:
        button(at, "Start sweep").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        for _ in range(POLLS):
            line = status_line(at)
            if "completed" in line or "failed" in line:
                break
            time.sleep(0.5)
            at.run()
        job = get_sweep_registry().get(at.session_state["hqnn_session_key"])
        assert "completed" in status_line(at), (status_line(at), job.log_tail())
        table = at.dataframe[0].value
        assert len(table) == 2 and set(table["status"]) == {"completed"}
        assert table["train.lr"].between(0.002, 0.2).all()
        assert {c.value for c in at.code} >= {job.command}
        assert job.command.startswith("hqnn sweep /") and str(job.folder / "spec.json") in job.command
        assert len(at.get("plotly_chart")) == 3  # best so far, parallel coordinates, top curves
        snap = job.snapshot()
        best = snap.best  # both trials were finalists: the better one on its seed-1 rerun
        assert {r.params["train.lr"] for r in snap.final} == set(table["train.lr"])
        assert best.val_acc is not None and snap.chosen_final[0].params == best.params
        assert snap.chosen_final[0].val_acc == max(r.val_acc for r in snap.final)

        button(at, "Use the best configuration").click().run()
        assert not at.exception
        cfg = at.session_state[CONFIG_KEY]
        assert cfg.train.lr == pytest.approx(best.params["train.lr"])
        assert cfg.train.lr != tiny_config().train.lr and cfg.data == tiny_config().data
        assert any("best configuration" in s.value for s in at.success)

        other = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"),
                                  default_timeout=120)  # another browser: its own key
        other.run()
        other.switch_page("views/sweep.py").run()
        assert status_line(other) == "" and any("Start sweep" in i.value for i in other.info)
        assert not any(b.label in ("Stop", "Resume") for b in other.button)

        runs = RunStore(runs_dir).list(sweep=job.snapshot().sweep_id)
        assert len(runs) == 4  # two trials, and both (the finalists) retrained on seed 1
    finally:
        get_sweep_registry().stop_all()
    assert wait_until_gone(temp, 60) == [], "Ray processes were left running"
