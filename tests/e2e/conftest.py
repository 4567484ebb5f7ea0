"""End-to-end fixtures: the studio served by ``streamlit run`` and a headless Chromium page.

The server runs as a subprocess on a free port with ``HQNN_RUNS_DIR`` in a temporary
folder and is killed after the module. Chromium is Debian's ``/usr/bin/chromium`` (``make
test`` installs it); without it the browser tests are skipped with a clear reason.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
STARTUP_SECONDS = 180  # upper bound for a cold start on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def digits_demo_shipped() -> bool:
    """Whether assets/models holds a demo model trained on the digits dataset."""
    configs = sorted((ROOT / "assets" / "models").glob("*/config.json"))
    return any(json.loads(path.read_text())["data"]["name"] == "digits" for path in configs)


def seed_a_digits_run(runs_root: Path) -> None:
    """Without a shipped demo model, give Classify a small trained digits model to use."""
    from hqnn_core.config import DataConfig, RunConfig, TrainConfig
    from hqnn_core.learning.runs import RunStore
    from hqnn_core.learning.training import fit

    cfg = RunConfig(data=DataConfig(name="digits", train_size=300, test_size=50),
                    train=TrainConfig(epochs=2, batch_size=32))
    fit(cfg, run_dir=RunStore(runs_root).new_run_dir(cfg))


@dataclass
class Studio:
    """A running ``streamlit run app.py`` server: its URL, process and log."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.process.poll() is None

    def rss_bytes(self, field: str = "VmRSS") -> int:
        """The server process's resident memory (Linux /proc); ``VmHWM`` for its peak."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        return 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def serve_studio(tmp: Path, *, event_lag: float | None = None) -> Iterator[Studio]:
    """Start a fresh studio server (runs in ``tmp/runs``); no page is requested yet.

    ``event_lag`` serves it through ``tests/e2e/lagging_loop.py``: its event loop hands each
    script-runner event on that many seconds late, as on a heavily loaded machine.
    """
    port = _free_port()
    if not digits_demo_shipped():
        seed_a_digits_run(tmp / "runs")
    env = {**os.environ, "HQNN_RUNS_DIR": str(tmp / "runs"), "PYTHONUNBUFFERED": "1"}
    log_path = tmp / "streamlit.log"
    with open(log_path, "wb") as log:
        launcher = (["streamlit"] if event_lag is None
                    else ["tests.e2e.lagging_loop", str(event_lag)])
        server = subprocess.Popen(
            [sys.executable, "-m", *launcher, "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    studio = Studio(f"http://127.0.0.1:{port}", server, log_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(studio.url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {studio.log()[-2000:]}")
            time.sleep(0.5)
        yield studio
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory, browser) -> Iterator[str]:
    """Base URL of a freshly started studio (its runs go to a temporary folder).

    The home page is opened once first so the tests do not pay for the cold imports.
    """
    with serve_studio(tmp_path_factory.mktemp("studio")) as studio:
        context = browser.new_context(viewport=VIEWPORT)
        warm = context.new_page()
        warm.goto(studio.url, timeout=STARTUP_SECONDS * 1000)
        warm.wait_for_selector(IDLE, state="attached", timeout=STARTUP_SECONDS * 1000)
        context.close()
        yield studio.url


@pytest.fixture()
def fresh_studio(tmp_path: Path) -> Iterator[Studio]:
    """A studio server of its own for one test, not yet visited by any browser."""
    with serve_studio(tmp_path) as studio:
        yield studio


@pytest.fixture(scope="module")
def digits_demo() -> bool:
    """Whether Classify starts on a shipped digits demo model (else on a seeded run)."""
    return digits_demo_shipped()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing; run `apt-get install -y chromium` (make test does)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser) -> Iterator[object]:
    """A fresh browser context (its own session) with a 1400x900 page."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
