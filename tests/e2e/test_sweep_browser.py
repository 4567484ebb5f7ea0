"""A small sweep started, followed and finished in a real headless Chromium.

With ``HQNN_SCREENSHOTS=1`` it (re)writes ``docs/screenshots/sweep.png`` with the finished sweep.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import EXCEPTION, screenshot, wait_idle
from tests.sweep_helpers import short_temp_dir, wait_until_gone

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
expect = pytest.importorskip("playwright.sync_api").expect
SWEEP_MS = 420_000  # Ray's start and four tiny trials on a busy 2-core machine (upper bound)
TINY = ("data.train_size=300&data.test_size=100&circuit.n_qubits=3&circuit.layers=1"
        "&train.epochs=2&train.batch_size=30&train.lr=0.05")


@pytest.fixture()
def ray_temp(monkeypatch: pytest.MonkeyPatch) -> str:
    """A Ray session folder of its own, for the server started after this fixture."""
    temp = short_temp_dir("hqe")
    monkeypatch.setenv("HQNN_RAY_TEMP_DIR", temp)
    return temp


def test_a_small_sweep_runs_to_the_end_in_the_browser(ray_temp, fresh_studio, page) -> None:
    page.goto(f"{fresh_studio.url}/sweep?{TINY}")
    wait_idle(page)
    page.get_by_label("Trials", exact=True).fill("4")
    page.get_by_label("Trials", exact=True).press("Enter")
    wait_idle(page)
    page.get_by_label("Seeds of the final re-training").fill("1")
    page.get_by_label("Seeds of the final re-training").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start sweep").click()
    status = page.locator("p").filter(has_text="Status:")
    expect(status).to_contain_text("completed", timeout=SWEEP_MS)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.get_by_role("button", name="Use the best configuration")).to_be_visible()
    expect(page.locator("code").filter(has_text="hqnn sweep /")).to_have_count(1)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 3
    status.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    page.mouse.wheel(0, -40)
    page.wait_for_timeout(500)
    screenshot(page, "sweep")
    assert wait_until_gone(ray_temp, 60) == [], "Ray processes were left running"
