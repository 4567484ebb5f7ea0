"""The Home page: the workflow, the current state, the latest run and the one-click demo."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from hqnn_core.learning.checkpoint import METRICS_FILE, atomic_write_json
from hqnn_core.config import RunConfig
from hqnn_core.learning.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]


def test_renders_the_workflow_and_the_current_state(studio: AppTest) -> None:
    at = studio.run()
    assert not at.exception
    links = [link.value for link in at.main.get("page_link")]
    assert "1. Data" in links
    assert "2. Circuit" in links
    assert any("8 qubits" in m.value for m in at.main.markdown)
    assert any("No runs yet" in c.value for c in at.main.caption)


def test_shows_the_latest_run(runs_dir: Path, studio: AppTest) -> None:
    store = RunStore(runs_dir)
    run_dir = store.new_run_dir(RunConfig(), name="first_try")
    atomic_write_json(run_dir / METRICS_FILE, {"status": "completed", "test_accuracy": 0.875})
    store.refresh(run_dir.name)
    at = studio.run()
    latest = next(m.value for m in at.main.markdown if "Latest run" in m.value)
    assert "first_try" in latest and "87.5 %" in latest


def test_demo_selects_the_shipped_model_and_opens_classify(studio: AppTest) -> None:
    demo = ROOT / "assets" / "models" / "digits-hybrid"
    at = studio.run()
    if not (demo / "config.json").is_file():
        assert any("not part of this build" in c.value for c in at.main.caption)
        return
    at.button(key="home_demo").click().run()
    assert not at.exception
    assert at.title[0].value == "Classify"
    assert at.session_state["selected_run"] == str(demo)
