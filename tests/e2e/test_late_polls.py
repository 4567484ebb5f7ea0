"""A run's end reaches the page even when polls sent before it arrive after it.

The server is served through ``tests/e2e/lagging_loop.py``: its event loop hands each
script-runner event on ``LAG`` seconds late, as a loaded 2-core machine does now and then.
The Train page's fragments (and the sidebar's) poll every 1-3 s, so a poll the browser sent
before the job-end run reached it lands while that run's output is still on its way. On
Streamlit 1.67 such a poll used to start a new script runner and drop the rest of that output:
the page kept "Status: completed" but never showed its results (``hqnn_ui/polling.py``).
Every session here must show its own run folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import IDLE, STARTUP_SECONDS, VIEWPORT, Studio, serve_studio
from tests.e2e.test_load import TINY, keep_evidence

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api").expect

SESSIONS = 4
LAG = 1.5  # longer than the job-end run takes, so a poll in flight always lands behind it
RESULTS_SECONDS = 150  # a tiny run and the page's redraws, with every event 1.5 s late


@pytest.fixture()
def lagging_studio(tmp_path: Path) -> Iterator[Studio]:
    with serve_studio(tmp_path, event_lag=LAG) as studio:
        yield studio


@pytest.mark.timeout(900)
def test_results_appear_though_polls_arrive_after_the_end(browser, lagging_studio: Studio,
                                                          tmp_path: Path) -> None:
    pages = []
    for seed in range(SESSIONS):
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(STARTUP_SECONDS * 1000)
        page.goto(f"{lagging_studio.url}/train?{TINY}&train.seed={seed}", wait_until="commit")
        pages.append(page)
    try:
        for page in pages:
            page.wait_for_selector(IDLE, state="attached")
            page.get_by_role("button", name="Start training").click()
        for seed, page in enumerate(pages):
            caption = page.get_by_text(re.compile("^Run folder:"))
            try:
                expect(caption).to_have_count(1, timeout=RESULTS_SECONDS * 1000)
            except AssertionError:
                keep_evidence(pages, tmp_path / "evidence")
                main = page.locator('[data-testid="stMain"]').inner_text()
                raise AssertionError(f"session {seed} shows no results within "
                                     f"{RESULTS_SECONDS} s (screenshots in "
                                     f"{tmp_path / 'evidence'}); it shows: {main[-800:]}"
                                     ) from None
            folder = Path(caption.inner_text().split("Run folder:", 1)[1].strip().strip("`"))
            assert json.loads((folder / "config.json").read_text())["train"]["seed"] == seed
        assert lagging_studio.alive(), lagging_studio.log()[-3000:]
    finally:
        for page in pages:
            page.context.close()
