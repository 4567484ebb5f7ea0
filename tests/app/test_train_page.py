"""AppTest of views/train.py: renders, trains a tiny run from the page, the run is listed."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from streamlit.testing.v1 import AppTest

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_core.learning.runs import RunStore
from hqnn_core.studio.jobs import TrainingJob, get_registry
from hqnn_ui import training_view
from hqnn_ui.session import SESSION_KEY
from hqnn_ui.state import CONFIG_KEY

POLLS = 240  # at most ~2 minutes of polling on a busy machine; a healthy run needs a few


def tiny_config() -> RunConfig:
    return RunConfig(
        data=DataConfig(name="digits", classes=(0, 1), train_size=48, test_size=24),
        circuit=CircuitConfig(n_qubits=2, layers=1),
        model=ModelConfig(kind="hybrid"),
        train=TrainConfig(epochs=1, batch_size=16, lr=0.05),
    )


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def status_line(at: AppTest) -> str:
    return next((m.value for m in at.markdown if m.value.startswith("**Status:**")), "")


def test_renders_with_defaults(open_page) -> None:
    at = open_page("train.py")
    assert not at.exception
    assert "Start training" in [b.label for b in at.button]
    assert {n.label for n in at.number_input} == {"Epochs", "Learning rate", "Seed",
                                                  "Warm-up fraction", "Weight decay",
                                                  "Early-stopping patience"}
    assert any("Start training" in i.value for i in at.info)


def test_a_short_run_started_from_the_page_completes_and_is_listed(
        studio: AppTest, runs_dir: Path) -> None:
    at = studio
    at.session_state[CONFIG_KEY] = tiny_config()
    at.run()
    at.switch_page("views/train.py").run()
    at.checkbox(key="train_twin").check()
    at.number_input(key="w.train.patience").set_value(3)
    at.checkbox(key="w.train.restore_best").check()
    button(at, "Start training").click().run()
    assert not at.exception and not at.error
    for _ in range(POLLS):
        if "completed" in status_line(at) or "failed" in status_line(at):
            break
        time.sleep(0.5)
        at.run()
    assert "completed" in status_line(at), status_line(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%") and metrics["Classical twin"].endswith("%")
    assert len(at.get("plotly_chart")) == 4  # curves, two learning maps, confusion matrix
    epochs = at.select_slider(key="train_map_epoch")
    assert list(epochs.options) == ["0", "1"] and epochs.value == 1
    epochs.set_value(0).run()  # replay the map before training
    assert not at.exception
    titles = [m.value for m in at.markdown if m.value.startswith("**What the model learns")]
    assert len(titles) == 1

    runs = RunStore(runs_dir).list(status="completed")
    assert {r.kind for r in runs} == {"hybrid", "classical"}
    for run in runs:  # the recipe chosen on the page is the one each run saved
        saved = json.loads((Path(run.path) / "config.json").read_text())["train"]
        assert (saved["patience"], saved["restore_best"]) == (3, True)

    at.switch_page("views/experiments.py").run()
    assert not at.exception
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert all(r.id in shown or r.name in shown for r in runs)


def poll(at: AppTest, done) -> None:
    """Re-run the page until ``done(at)`` (bounded by POLLS re-runs)."""
    for _ in range(POLLS):
        if done(at):
            return
        time.sleep(0.5)
        at.run()
    raise AssertionError(f"gave up waiting; status is {status_line(at)!r}")


def record_polls(monkeypatch) -> list:
    """The ``run_every`` of each fragment the Train page's live panel creates, in order."""
    import streamlit as st

    polls, real_fragment = [], st.fragment

    def recording_fragment(func=None, *, run_every=None):  # type: ignore[no-untyped-def]
        if getattr(func, "__module__", None) == training_view.__name__:
            polls.append(run_every)
        return real_fragment(func, run_every=run_every)

    monkeypatch.setattr(st, "fragment", recording_fragment)
    return polls


def test_stop_and_resume_from_the_page(studio: AppTest, monkeypatch) -> None:
    polls = record_polls(monkeypatch)
    at = studio
    cfg = tiny_config()
    at.session_state[CONFIG_KEY] = replace(cfg, train=replace(cfg.train, epochs=400))
    at.run()
    at.switch_page("views/train.py").run()
    button(at, "Start training").click().run()
    poll(at, lambda a: "running" in status_line(a) and a.get("plotly_chart"))
    # Stop and the progress re-run every second; the charts, whose redraw is a long task on
    # the browser's main thread, less often, so a click never queues behind them
    assert polls[-2:] == [training_view.POLL_SECONDS, training_view.CHART_SECONDS]
    assert training_view.CHART_SECONDS >= 2 * training_view.POLL_SECONDS
    button(at, "Stop").click().run()
    poll(at, lambda a: "stopped" in status_line(a))
    assert not button(at, "Resume").disabled and button(at, "Stop").disabled
    at.run()
    assert polls[-2:] == [None, None]  # a stopped job is not polled
    button(at, "Resume").click().run()
    assert "running" in status_line(at)
    button(at, "Stop").click().run()
    poll(at, lambda a: "stopped" in status_line(a))
    assert not at.exception


def sidebar_text(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption") for e in at.sidebar.get(kind))


def test_a_changed_field_applies_without_starting_and_start_uses_every_choice(
        studio: AppTest) -> None:
    """No form: a field change (Enter in the browser) never starts training; Start takes the
    twin ticked afterwards, and the sidebar shows the job at once."""
    at = studio
    at.session_state[CONFIG_KEY] = tiny_config()
    at.run()
    at.switch_page("views/train.py").run()
    at.number_input(key="w.train.epochs").set_value(300).run()
    assert not at.exception and "Status:" not in " ".join(m.value for m in at.markdown)
    assert at.session_state[CONFIG_KEY].train.epochs == 300  # applied, not started
    at.checkbox(key="train_twin").check().run()
    button(at, "Start training").click().run()
    assert "running" in status_line(at)
    assert "**Training** · running" in sidebar_text(at)
    assert "No training job" not in sidebar_text(at)
    start = button(at, "Start training")
    assert start.disabled
    assert any("stop it below before starting another" in c.value for c in at.caption)
    job = get_registry().get(at.session_state[SESSION_KEY])
    assert job is not None and job.twin and job.cfg.train.epochs == 300
    button(at, "Stop").click().run()
    poll(at, lambda a: "stopped" in status_line(a))


def test_an_impossible_learning_rate_says_why_start_is_off(open_page) -> None:
    at = open_page("train.py")
    at.number_input(key="w.train.lr").set_value(1000.0).run()
    assert not at.exception
    assert len(at.error) == 1 and "train.lr must be a positive number up to 10" in at.error[0].value
    assert button(at, "Start training").disabled


def test_a_configuration_over_the_memory_limit_is_refused_before_start(
        studio: AppTest) -> None:
    at = studio
    at.session_state[CONFIG_KEY] = RunConfig(circuit=CircuitConfig(n_qubits=16,
                                                                    encoding="amplitude"))
    at.run()
    at.switch_page("views/train.py").run()
    assert not at.exception
    assert any("over the memory limit of 8.0 GiB" in e.value for e in at.error)
    assert button(at, "Start training").disabled


def test_the_estimate_is_shown_before_start(open_page) -> None:
    at = open_page("train.py")
    assert any("Estimated memory about" in c.value and "time roughly" in c.value
               for c in at.caption)


def _map_view(snap) -> None:
    from hqnn_ui.maps_view import learning_map_view

    learning_map_view(snap)


def _chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_both_maps_stand_side_by_side_and_move_together_while_the_models_train(
        tmp_path: Path) -> None:
    """The live maps as the page polls them: the quantum model and its twin train at the
    same time, so each poll shows both models' latest epochs side by side."""
    snaps: list = []
    job: list[TrainingJob] = []
    cfg = replace(tiny_config(), train=replace(tiny_config().train, epochs=2))
    job.append(TrainingJob(cfg, tmp_path, twin=True,
                           callbacks=(lambda e: snaps.append(job[0].snapshot())
                                      if e.kind in ("start", "epoch") else None,)))
    job[0].start()
    assert job[0].join(300) and job[0].snapshot().status == "completed"

    def columns(snap) -> list[list[str]]:
        at = AppTest.from_function(_map_view, args=(snap,), default_timeout=60).run()
        assert not at.exception and not at.select_slider  # live: no replay slider yet
        charts = [t.split(" · ")[:2] for t in _chart_titles(at)]
        waiting = [c.value for c in at.caption if "appears here" in c.value]
        return charts + [["waiting", w.split("'s map")[0]] for w in waiting]

    mid = next(s for s in snaps  # both under way with a map of epoch 1, neither finished
               if s.quantum.epochs_history and s.twin.epochs_history and
               not (s.quantum.done or s.twin.done) and len(s.maps) == 2
               and all(frames and frames[-1].epoch == 1 for frames in s.maps.values()))
    assert columns(mid) == [["quantum", "epoch 1"], ["classical twin", "epoch 1"]]
    starting = replace(mid, maps={"quantum": mid.maps["quantum"]})  # the twin's map to come
    assert columns(starting) == [["quantum", "epoch 1"], ["waiting", "The classical twin"]]
    for snap in snaps:  # at no poll is one map more than an epoch ahead of the other
        epochs = {label: frames[-1].epoch for label, frames in snap.maps.items() if frames}
        assert max(epochs.values()) - min(epochs.values(), default=0) <= 1, epochs

    at = AppTest.from_function(_map_view, args=(job[0].snapshot(),), default_timeout=60).run()
    assert [t.split(" · ")[:2] for t in _chart_titles(at)] == [["quantum", "epoch 2"],
                                                               ["classical twin", "epoch 2"]]
    assert list(at.select_slider(key="train_map_epoch").options) == ["0", "1", "2"]
