"""hqnn against every peer, side by side in one run, quiet and with one busy process beside.

Every framework trains the same model (``probe_hqnn.py``'s docstring) in a process of its
own: hqnn's probe here, the peers' probes and virtualenvs from ``../shared/peers`` (its
``env.sh`` builds them under ``~/.cache/hqnn-peers``; a peer whose virtualenv is missing is
skipped and named), and ``peers/pl_torch.py`` (PennyLane's ``TorchLayer``) in that
virtualenv. Frameworks take turns (each round runs every framework once at all
sizes), each one's turn on the machine as it is ("quiet") followed at once by one with a
spinning process beside ("loaded"); medians over ``--rounds``. Each turn also prints the
share of a core its process got (CPU / wall seconds): a one-thread framework that loses
under load while its share falls was short of CPU, not slowed by its own threads. Prints
samples/s, hqnn against the fastest peer per size, the eager loop against each torch-based
peer, and what load costs each framework.

``--curve`` instead measures the cost curve, quiet (training samples/s and peak memory, one
fresh process per point): hqnn's compiled step (``hqnn-step``) and its scoped eager loop
(``hqnn``) from 4 to 20 qubits, tc-JAX at 4, 8, 12, 16, 18 and
20 and PennyLane-JAX up to 16 (``--peer-qubits``), and both hqnn ways against the batch size
at 8 and 16 qubits; it draws ``docs/cost_curve.png`` (``--plot``): 44 points, about 15
minutes on 2 quiet cores at ``--seconds 2`` plus about 7 for tc-JAX at 18 and 20 qubits (its
20-qubit step: 51 s and 17 GiB, after its compile).

    python benchmarks/bench_peers.py --qubits 4 8 12 16 --seconds 3 --rounds 1
    python benchmarks/bench_peers.py --curve --seconds 2 --json docs/cost_curve.json
Needs matplotlib for the plot (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_DIR = Path(os.environ.get("HQNN_PEERS") or next(
    (p for p in (ROOT.parent / "shared" / "peers", ROOT.parents[1] / "shared" / "peers")
     if p.exists()), ROOT.parent / "shared" / "peers"))
VENVS = Path(os.environ.get("PEERS_VENVS", Path.home() / ".cache" / "hqnn-peers"))
LINE = re.compile(r"^(\S+) n=(\d+): ([\d.]+) samples/s")
RSS = re.compile(r"peak RSS ([\d.]+) GiB")
BEST = ("hqnn", "hqnn-compiled", "hqnn-step")  # hqnn's ways that count as "its best way"


@dataclass
class Framework:
    name: str
    python: Path
    script: Path
    torch_based: bool
    max_qubits: int
    env: dict[str, str] = field(default_factory=dict)

    def available(self) -> bool:
        return self.python.exists() and self.script.exists()


def frameworks() -> list[Framework]:
    probe, here = ROOT / "benchmarks" / "probe_hqnn.py", Path(sys.executable)
    venv, peers = VENVS / "venv" / "bin" / "python", PEERS_DIR
    return [
        Framework("hqnn", here, probe, True, 20, {"MODE": "scoped"}),
        Framework("hqnn-compiled", here, probe, True, 16, {"MODE": "compiled"}),
        Framework("hqnn-step", here, probe, True, 20, {"MODE": "step"}),
        Framework("hqnn-eager", here, probe, True, 16, {"MODE": "eager"}),
        Framework("tc-jax", venv, peers / "tc-jax.py", False, 20),  # 17 GiB at 20 qubits
        Framework("pl-jax-vmap", venv, peers / "pl-jax-vmap.py", False, 16),
        Framework("pl-jax-bcast", venv, peers / "pl-jax-bcast.py", False, 16),
        Framework("tc-torch", venv, peers / "tc-torch.py", True, 12),
        Framework("pl-torch", venv, ROOT / "benchmarks" / "peers" / "pl_torch.py", True, 12,
                  {"HQNN_PEERS": str(peers)}),
        Framework("tqng", VENVS / "tqng" / "bin" / "python", peers / "tqng.py", True, 12),
        Framework("qtm", VENVS / "qtm" / "bin" / "python", peers / "qtm.py", True, 4),
    ]


@dataclass
class Turn:
    """One process's figures: {n: (samples/s, peak GiB)}, and the share of one core it got
    over its lifetime (CPU seconds / wall seconds; a one-thread probe that gets less than
    about 0.9 was short of CPU, whatever its own threads)."""

    results: dict[int, tuple[float, float]]
    cpu_share: float = 0.0
    wall: float = 0.0


def run(fw: Framework, qubits: list[int], seconds: float, extra: dict[str, str] | None = None,
        timeout: float = 1800) -> Turn:
    """One process of ``fw`` at ``qubits`` (peak memory and CPU time from wait4 of the child)."""
    ns = [n for n in qubits if n <= fw.max_qubits]
    if not ns:
        return Turn({})
    start = time.perf_counter()
    env = {**os.environ, "NS": ",".join(map(str, ns)), "BUDGET": str(seconds),
           "PYTHONPATH": str(ROOT), **fw.env, **(extra or {})}
    proc = subprocess.Popen([str(fw.python), str(fw.script)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS (KiB on Linux)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss / 2**20
    wall = time.perf_counter() - start
    results = {}
    for line in out.splitlines():
        match = LINE.match(line)
        if match:
            rss = RSS.search(line)
            results[int(match.group(2))] = (float(match.group(3)),
                                            float(rss.group(1)) if rss else peak)
    return Turn(results, (usage.ru_utime + usage.ru_stime) / wall, wall)


class Spinner:
    """One busy process beside the benchmark while the block runs."""

    def __enter__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def compare(args: argparse.Namespace) -> dict:
    present = [fw for fw in frameworks() if fw.available() and fw.name not in args.skip]
    missing = [fw.name for fw in frameworks() if not fw.available()]
    if missing:
        print(f"skipped (no virtualenv or probe; see {PEERS_DIR / 'env.sh'}): {', '.join(missing)}")
    results: dict[str, dict[str, dict[int, list[float]]]] = {"quiet": {}, "loaded": {}}
    for _ in range(args.rounds):
        for fw in present:
            for condition in ("quiet", "loaded"):  # back to back, so drift hits both alike
                if condition == "loaded":
                    with Spinner():
                        turn = run(fw, args.qubits, args.seconds)
                else:
                    turn = run(fw, args.qubits, args.seconds)
                for n, (sps, _) in turn.results.items():
                    results[condition].setdefault(fw.name, {}).setdefault(n, []).append(sps)
                print(f"  {condition} {fw.name}: " + ", ".join(
                    f"{n}q {v[0]:.0f}" for n, v in sorted(turn.results.items()))
                    + f"  [cpu share {turn.cpu_share:.2f}]", flush=True)
    medians = {c: {name: {n: statistics.median(v) for n, v in per.items()}
                   for name, per in table.items()} for c, table in results.items()}
    report(medians, present)
    return medians


def report(medians: dict, present: list[Framework]) -> None:
    names = [fw.name for fw in present]
    torch_peers = [fw.name for fw in present if fw.torch_based and not fw.name.startswith("hqnn")]
    peers = [name for name in names if not name.startswith("hqnn")]
    sizes = sorted({n for table in medians.values() for per in table.values() for n in per})
    for condition, table in medians.items():
        print(f"\nsamples/s, {condition} (medians)")
        print(f"{'qubits':>6} " + " ".join(f"{name:>13}" for name in names))
        for n in sizes:
            print(f"{n:>6} " + " ".join(f"{table.get(name, {}).get(n, float('nan')):>13.0f}"
                                        for name in names))
        print(f"\n{condition}: hqnn's best way (hqnn, hqnn-compiled or hqnn-step) against the "
              "fastest peer, and the eager loops against each torch peer")
        for n in sizes:
            best = max(table.get(h, {}).get(n, 0.0) for h in BEST)
            rivals = {p: table[p][n] for p in peers if n in table.get(p, {})}
            line = f"{n:>6}q"
            if rivals:
                fastest = max(rivals, key=rivals.get)
                line += f"  {best / rivals[fastest]:5.2f}x {fastest}"
            for mode in ("hqnn", "hqnn-eager"):
                for p in torch_peers:
                    if n in table.get(p, {}) and n in table.get(mode, {}):
                        line += f"  {mode} {table[mode][n] / table[p][n]:5.1f}x {p}"
            print(line)
    if {"quiet", "loaded"} <= set(medians):
        print("\nloaded / quiet")
        for name in names:
            q, lo = medians["quiet"].get(name, {}), medians["loaded"].get(name, {})
            print(f"{name:>14} " + " ".join(f"{n}q {lo[n] / q[n]:.2f}" for n in sizes
                                             if n in q and n in lo))


CURVE = {"hqnn-step": "hqnn compile_step", "hqnn": "hqnn eager loop (scoped)",
         "tc-jax": "tensorcircuit-ng, JAX jit", "pl-jax-bcast": "PennyLane, JAX jit"}
BATCHES = {8: [8, 32, 128, 512, 1024], 16: [8, 32, 128]}  # the batch-size points per qubit count


def curve(args: argparse.Namespace) -> dict:
    """Samples/s and peak memory per point, one fresh process each, quiet; then the plot."""
    present = {fw.name: fw for fw in frameworks() if fw.available()}
    points: dict[str, dict[str, list]] = {}
    started = time.perf_counter()

    def point(name: str, n: int, key: str, x: int, extra: dict[str, str]) -> None:
        turn = run(present[name], [n], args.seconds, extra)  # at least one timed step
        if n in turn.results:
            sps, gib = turn.results[n]
            points.setdefault(name, {}).setdefault(key, []).append((x, sps, gib))
            where = f"{n}q" if key == "qubits" else f"{n}q batch {x}"
            print(f"  {name} {where}: {sps:.1f} samples/s, {gib:.2f} GiB  [{turn.wall:.0f} s "
                  f"wall, cpu share {turn.cpu_share:.2f}]", flush=True)

    for name in (c for c in CURVE if c in present):
        for n in args.curve_qubits if name.startswith("hqnn") else args.peer_qubits:
            if n <= present[name].max_qubits:
                point(name, n, "qubits", n, {"WARMUP": "1" if n >= 16 else "3"})
    for name in (c for c in CURVE if c.startswith("hqnn") and c in present):
        for n in args.batch_qubits:
            for batch in BATCHES[n]:
                point(name, n, f"batch{n}", batch, {"BATCH": str(batch), "WARMUP": "1"})
    print(f"cost curve measured in {time.perf_counter() - started:.0f} s")
    plot(points, args.plot)
    return points


def plot(points: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (speed, memory, batch) = plt.subplots(1, 3, figsize=(14, 4.2))
    colours = {name: f"C{i}" for i, name in enumerate(CURVE)}
    for name, series in points.items():
        label, colour = CURVE.get(name, name), colours.get(name)
        if "qubits" in series:
            n, sps, gib = zip(*series["qubits"])
            speed.semilogy(n, sps, "o-", label=label, color=colour)
            memory.plot(n, gib, "o-", label=label, color=colour)
        for n, style in ((8, "o-"), (16, "s--")):
            if f"batch{n}" in series:
                b, sps, _ = zip(*series[f"batch{n}"])
                batch.loglog(b, sps, style, label=f"{label}, {n} qubits", color=colour)
    speed.set(xlabel="qubits", ylabel="training samples/s (batch 32)", title="Throughput")
    memory.set(xlabel="qubits", ylabel="peak process memory (GiB)", title="Memory")
    batch.set(xlabel="batch size", ylabel="training samples/s", title="Against batch size")
    for ax in (speed, memory, batch):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 8, 12, 16])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per case")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[], help="frameworks to leave out")
    parser.add_argument("--curve", action="store_true", help="the cost curve and its plot")
    parser.add_argument("--curve-qubits", type=int, nargs="+", default=list(range(4, 21, 2)))
    parser.add_argument("--peer-qubits", type=int, nargs="+", default=[4, 8, 12, 16, 18, 20],
                        help="the JAX peers' points on the cost curve")
    parser.add_argument("--batch-qubits", type=int, nargs="*", default=sorted(BATCHES),
                        choices=sorted(BATCHES), help="the cost curve's batch-size series")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "cost_curve.png",
                        help="where --curve draws its figure")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = curve(args) if args.curve else compare(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
