"""The Train page's "Advanced: training recipe" expander: each key reaches the configuration
Start would train, an impossible value disables Start, the values survive pages and links."""

from __future__ import annotations

from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

from hqnn_core.config import DataConfig, RunConfig, TrainConfig
from hqnn_core.studio.url import config_to_query
from hqnn_ui.state import CONFIG_KEY

RECIPE = {"warmup": 0.2, "weight_decay": 0.001, "decay_angles": True, "patience": 4,
          "restore_best": True}


def start_button(at: AppTest):
    return next(b for b in at.button if b.label == "Start training")


def set_recipe(at: AppTest, values: dict) -> AppTest:
    """Set the expander's widgets (one script run per widget, as a person would)."""
    for name, value in values.items():
        widget = (at.checkbox(key=f"w.train.{name}") if isinstance(value, bool)
                  else at.number_input(key=f"w.train.{name}"))
        widget.set_value(value).run()
        assert not at.exception
    return at


def test_the_recipe_sits_in_a_closed_expander_with_the_defaults(
        open_page: Callable[[str], AppTest]) -> None:
    at = open_page("train.py")
    [expander] = [e for e in at.get("expander") if e.label == "Advanced: training recipe"]
    assert not expander.proto.expanded
    assert {n.label for n in expander.number_input} == {
        "Warm-up fraction", "Weight decay", "Early-stopping patience"}
    assert {c.label for c in expander.checkbox} == {"Decay the circuit's angles too",
                                                    "Test the best validation epoch's weights"}
    assert at.number_input(key="w.train.patience").value is None  # blank: never
    assert "never stops early" in at.number_input(key="w.train.patience").help
    assert at.checkbox(key="w.train.decay_angles").disabled  # no weight decay to apply
    assert all(h.help for h in [*expander.number_input, *expander.checkbox])


def test_each_recipe_field_changes_the_configuration_start_would_train(
        open_page: Callable[[str], AppTest]) -> None:
    at = set_recipe(open_page("train.py"), RECIPE)
    train = at.session_state[CONFIG_KEY].train
    assert {name: getattr(train, name) for name in RECIPE} == RECIPE
    assert not start_button(at).disabled and not at.error

    at.number_input(key="w.train.patience").set_value(0).run()
    assert at.session_state[CONFIG_KEY].train.patience is None  # 0: never stop early
    at.selectbox(key="w.train.schedule").set_value("cosine").run()
    assert at.number_input(key="w.train.warmup").disabled  # only warmup_cosine warms up


@pytest.mark.parametrize("name, value, sentence", [
    ("warmup", 1.0, "train.warmup must be a fraction in [0, 1), got 1.0."),
    ("weight_decay", -0.01, "train.weight_decay must be 0 or more, got -0.01."),
    ("patience", 20_000, "train.patience must be between 1 and 10000, got 20000."),
])
def test_an_impossible_recipe_value_says_why_start_is_off(
        open_page: Callable[[str], AppTest], name: str, value: float, sentence: str) -> None:
    at = set_recipe(open_page("train.py"), {name: value})
    assert [e.value for e in at.error] == [sentence]
    assert start_button(at).disabled
    assert at.session_state[CONFIG_KEY] == RunConfig()  # the last possible configuration kept


def test_the_recipe_survives_a_page_switch_and_the_link(studio: AppTest) -> None:
    at = studio.run()
    at = set_recipe(at.switch_page("views/train.py").run(), RECIPE)
    at.switch_page("views/circuit.py").run()
    at.switch_page("views/train.py").run()
    assert {name: at.session_state[f"w.train.{name}"] for name in RECIPE} == RECIPE

    params = dict(at.query_params)
    assert {k: params[k] for k in ("train.patience", "train.restore_best")} in (
        {"train.patience": "4", "train.restore_best": "true"},
        {"train.patience": ["4"], "train.restore_best": ["true"]})
    fresh = AppTest.from_file(studio._script_path, default_timeout=studio.default_timeout)
    for key, value in params.items():
        fresh.query_params[key] = value
    fresh.run()
    fresh.switch_page("views/train.py").run()
    assert not fresh.exception
    assert fresh.session_state[CONFIG_KEY].train == TrainConfig(**RECIPE)
    assert {name: fresh.session_state[f"w.train.{name}"] for name in RECIPE} == RECIPE
    assert config_to_query(fresh.session_state[CONFIG_KEY]) == config_to_query(
        at.session_state[CONFIG_KEY])


def test_without_a_validation_split_the_expander_says_early_stopping_cannot_act(
        studio: AppTest) -> None:
    studio.session_state[CONFIG_KEY] = RunConfig(data=DataConfig(val_fraction=0.0))
    at = studio.run()
    at.switch_page("views/train.py").run()
    [expander] = [e for e in at.get("expander") if e.label == "Advanced: training recipe"]
    assert any("validation share is 0" in c.value for c in expander.caption)
    at.session_state[CONFIG_KEY] = RunConfig()
    at.switch_page("views/train.py").run()
    assert not any("validation share is 0" in c.value for c in at.caption)
