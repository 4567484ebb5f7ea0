"""Eight people at once on one server: each draws a digit on Classify and trains a short run.

One Chromium, eight contexts (eight browser sessions), driven step by step in turn. All
finish, each sees only its own job (its own seed in its own run folder), and the server
lives. The figures (sessions, seconds, server memory) are printed and written to
``HQNN_LOAD_REPORT`` when that is set; the README's Reliability section quotes them.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import IDLE, STARTUP_SECONDS, VIEWPORT
from tests.e2e.test_browser import draw, prediction

pytestmark = [
    pytest.mark.e2e, pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("HQNN_LOAD_TEST") != "1",
                       reason="the 8-session load test runs with HQNN_LOAD_TEST=1 (its "
                              "completion wait is not yet reliable; see the README)"),
]
expect = pytest.importorskip("playwright.sync_api").expect
expect.set_options(timeout=STARTUP_SECONDS * 1000)

SESSIONS = 8
DONE_SECONDS = 900  # upper bound for eight tiny runs on a busy 2-core machine
TINY = ("data.classes=0,1&data.train_size=48&data.test_size=24&circuit.n_qubits=2"
        "&circuit.layers=1&train.epochs=1&train.batch_size=16")


def status(page):
    return page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Status:")


@pytest.mark.timeout(1800)  # fail, never hang, on an overloaded machine
def test_eight_sessions_classify_and_train_at_once(browser, fresh_studio,
                                                   digits_demo: bool) -> None:
    started = time.monotonic()
    rss = [fresh_studio.rss_bytes()]
    pages = []
    for _ in range(SESSIONS):
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(STARTUP_SECONDS * 1000)
        pages.append(page)
    for page in pages:
        page.goto(f"{fresh_studio.url}/classify", wait_until="commit")
    for page in pages:
        page.wait_for_selector(IDLE, state="attached")
        draw(page, [(0.5, 0.12), (0.5, 0.88)])
    for page in pages:
        expect(prediction(page)).to_be_visible()
        value = prediction(page).locator('[data-testid="stMetricValue"]').inner_text().strip()
        assert value == "1" if digits_demo else value in "0123456789"
    rss.append(fresh_studio.rss_bytes())

    for seed, page in enumerate(pages):
        page.goto(f"{fresh_studio.url}/train?{TINY}&train.seed={seed}")
    for page in pages:
        page.wait_for_selector(IDLE, state="attached")
        page.get_by_role("button", name="Start training").click()
    deadline = time.monotonic() + DONE_SECONDS
    waiting = set(range(SESSIONS))
    while waiting and time.monotonic() < deadline:
        for i in sorted(waiting):
            if any("completed" in text for text in status(pages[i]).all_inner_texts()):
                waiting.discard(i)
        rss.append(fresh_studio.rss_bytes())
        time.sleep(1.0)
    assert not waiting, f"sessions {sorted(waiting)} did not finish"
    assert fresh_studio.alive(), fresh_studio.log()[-3000:]

    folders = []
    for seed, page in enumerate(pages):
        caption = page.get_by_text(re.compile("^Run folder:")).inner_text()
        folder = Path(caption.split("Run folder:", 1)[1].strip().strip("`"))
        assert json.loads((folder / "config.json").read_text())["train"]["seed"] == seed
        folders.append(folder)
        page.context.close()
    assert len(set(folders)) == SESSIONS
    seconds = time.monotonic() - started
    report = {"sessions": SESSIONS, "seconds": round(seconds, 1),
              "server_rss_start_mib": round(rss[0] / 2**20),
              "server_rss_peak_mib": round(max(rss) / 2**20)}
    print("load:", json.dumps(report))
    if os.environ.get("HQNN_LOAD_REPORT"):
        Path(os.environ["HQNN_LOAD_REPORT"]).write_text(json.dumps(report, indent=1))
