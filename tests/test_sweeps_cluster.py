"""A real two-node Ray cluster on this machine: ``ray start --head`` plus a worker node.

The test starts both nodes with the venv's ``ray`` (isolated temp folders, no dashboard, no
usage stats, one CPU each), sends a small sweep to the head with ``hqnn sweep --address``
(a separate driver process, as a person would), checks that trials ran on both nodes, and
stops both nodes in a finalizer even when the test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hqnn_core.learning.runs import RunStore
from hqnn_core.sweeps.results import read_rows
from tests.sweep_helpers import TINY, processes_mentioning, short_temp_dir, wait_until_gone

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKEN = secrets.token_hex(32)  # this cluster's own auth token, not the user's ~/.ray one


def _env(driver: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(RAY_USAGE_STATS_ENABLED="0", OMP_NUM_THREADS="1", RAY_AUTH_TOKEN=TOKEN)
    env.pop("RAY_ADDRESS", None)
    if driver:  # hqnn turns token mode on by itself when it sees a token
        env.pop("RAY_AUTH_MODE", None)
    else:
        env["RAY_AUTH_MODE"] = "token"
    return env


def _ray_start(args: list[str], temp: str, log: Path) -> subprocess.Popen:
    common = ["--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp}",
              "--object-store-memory=100000000", "--block"]
    with open(log, "wb") as fh:
        return subprocess.Popen([str(RAY), "start", *args, *common], stdout=fh,
                                stderr=subprocess.STDOUT, env=_env(), start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def cluster(tmp_path):
    head_temp, worker_temp = short_temp_dir("hqh"), short_temp_dir("hqw")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    procs = []
    try:
        procs.append(_ray_start(["--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                                 "--include-dashboard=false"], head_temp, tmp_path / "head.log"))
        _wait_for_nodes(address, 1, tmp_path)
        procs.append(_ray_start([f"--address={address}", "--node-ip-address=127.0.0.1"],
                                worker_temp, tmp_path / "worker.log"))
        _wait_for_nodes(address, 2, tmp_path)
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for temp in (worker_temp, head_temp):  # anything the nodes left behind: by id
            for pid in wait_until_gone(temp, timeout=15):
                os.kill(pid, signal.SIGKILL)
        assert processes_mentioning(head_temp) == [] and processes_mentioning(worker_temp) == []


def _wait_for_nodes(address: str, n: int, tmp_path: Path, timeout: float = 120) -> None:
    probe = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR', "
             "log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run([sys.executable, "-c", probe, address], capture_output=True,
                             text=True, env=_env(), timeout=60)
        if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(n)]:
            return
        time.sleep(1)
    logs = "".join(p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log"))
    raise AssertionError(f"the cluster did not reach {n} nodes:\n{logs}")


def test_a_sweep_runs_across_two_nodes(cluster, tmp_path):
    spec = {"name": "cluster", "base": TINY, "search": "grid", "seeds": [1],
            "early_stopping": False, "space": {"train.lr": [0.05, 0.02]}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run([sys.executable, "-m", "hqnn_core", "sweep", str(path), "--out",
                          str(tmp_path / "sweep"), "--runs", str(tmp_path / "runs"),
                          "--address", cluster, "--quiet"], capture_output=True, text=True,
                         cwd=REPO, env=_env(driver=True), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "best (validation" in out.stdout
    rows = read_rows(tmp_path / "sweep")
    assert len(rows) == 2 and all(r.status == "completed" for r in rows)
    assert len({r.node for r in rows}) == 2  # one CPU per node: the two trials ran on both
    final = read_rows(tmp_path / "sweep", "final.json")
    assert len(final) == 1 and final[0].test_acc is not None
    assert len(RunStore(tmp_path / "runs").list(sweep=None)) == 3
