"""AppTest fixtures: the studio with its own empty run store and data folder per test."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
TIMEOUT = 120  # a loaded 2-core machine draws circuits slowly; tests never time anything


@pytest.fixture()
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty run store for this test (HQNN_RUNS_DIR), and an empty data folder."""
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setenv("HQNN_RUNS_DIR", str(runs))
    monkeypatch.setenv("HQNN_DATA_DIR", str(tmp_path / "data"))
    return runs


@pytest.fixture()
def studio(runs_dir: Path) -> AppTest:
    """The studio app (not yet run) on an empty run store."""
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


@pytest.fixture()
def open_page(studio: AppTest) -> Callable[[str], AppTest]:
    """Run the studio, switch to ``views/<name>`` and run that page."""

    def _open(name: str) -> AppTest:
        studio.run()
        return studio.switch_page(f"views/{name}").run()

    return _open


def _metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def metric() -> Callable[[AppTest, str], str]:
    """The value of the ``st.metric`` with this label."""
    return _metric_value
