"""Accuracy goals at an equal tuning budget: each hybrid against its twin and a baseline.

    python benchmarks/accuracy.py --task digits8 [--task mnist01 ...] [--out DIR]
                                  [--minutes 5] [--trials N] [--address ADDR]

Every task is an ``hqnn compare`` (:mod:`hqnn_core.sweeps.compare`): the hybrid, its
classical twin and a logistic-regression baseline on the raw pixels are tuned with the same
number of trials and the same time cap (``--minutes`` per arm, so a task's tuning budget is
at most three times that: 15 minutes by default), selected on the validation split: the top
three configurations of each arm are retrained on seeds 1, 2, 3, the one with the best mean
validation accuracy over the seeds is chosen, and its three runs are measured on the test split.

Goals (test accuracy, mean over the seeds):
  digits8  digits, 10 classes, an 8-qubit hybrid                           >= 96%
  mnist01  MNIST 0 vs 1, quantum only (fixed PCA, no trainable classical layer) >= 99.5% every seed
  mnist35  MNIST 3 vs 5, dressed quantum circuit (linear -> 10 qubits -> linear)  >= 97.0%
  mnist10  MNIST 10 classes, a hybrid                                      >= 98.8%
and each hybrid within 0.5 points of its twin (the table says by how much otherwise).

MNIST comes from the offline ``mnist-10k`` folder (``HQNN_MNIST_ROOT``, else
``shared/data/mnist-10k`` beside the repository or beside its parent): trained on its 8,000
images, measured on its 2,000 held-out ones. Results go to ``--out`` (one compare folder per
task, with ``compare.json``) and the Markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqnn_core.learning.checkpoint import CHECKPOINT_FILE, METRICS_FILE, atomic_write_json, read_json
from hqnn_core.sweeps.compare import CompareResult, CompareSpec, compare_table_markdown, run_compare

REPO = Path(__file__).resolve().parents[1]
TWIN_MARGIN = 0.005
DEMOS = {"digits8": "digits-hybrid", "mnist10": "mnist-hybrid"}
MAX_SHIPPED_BATCHES = 300


def mnist_root() -> str:
    """The offline MNIST folder, as an absolute path."""
    env = os.environ.get("HQNN_MNIST_ROOT")
    if env:
        return str(Path(env).resolve())
    for base in (REPO.parent, REPO.parent.parent):
        candidate = base / "shared" / "data" / "mnist-10k"
        if candidate.is_dir():
            return str(candidate.resolve())
    return str((REPO.parent / "shared" / "data" / "mnist-10k").resolve())


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    target: float
    every_seed: bool
    spec: dict[str, Any]


def tasks(minutes: float, trials: int | None) -> dict[str, Task]:
    """The four goals, each a comparison spec with ``minutes`` per arm."""
    mnist = {"name": "mnist", "root": mnist_root()}
    common = {"search": "bayes", "minutes": minutes, "seeds": [1, 2, 3], "finalists": 3,
              "baseline": "logistic"}

    def spec(name: str, base: dict, space: dict, n: int, grace: int | None) -> dict[str, Any]:
        return {"name": name, "base": base, "space": space, "trials": trials or n,
                "early_stopping": {"grace_epochs": grace, "reduction_factor": 3}, **common}

    return {t.key: t for t in (
        Task("digits8", "digits, 10 classes, 8-qubit hybrid", 0.96, False, spec("digits8", {
            "data": {"name": "digits"},
            "circuit": {"n_qubits": 8, "encoding": "angle", "layers": 2, "measurement": "zz"},
            "model": {"kind": "hybrid", "front": "linear"},
            "train": {"epochs": 30, "batch_size": 32}},
            {"train.lr": {"log_range": [0.005, 0.06]}, "model.front": ["linear", "cnn"],
             "circuit.measurement": ["z", "zz"], "circuit.layers": {"range": [1, 3]}}, 24, None)),
        Task("mnist01", "MNIST 0 vs 1, quantum only (fixed PCA, angle encoding, <Z> readout)",
             0.995, True, spec("mnist01", {
                 "data": {**mnist, "classes": [0, 1]},
                 "circuit": {"n_qubits": 8, "encoding": "angle", "layers": 2,
                             "measurement": "z"},
                 "model": {"kind": "quantum", "front": "pca"},
                 "train": {"epochs": 10, "batch_size": 32, "lr": 0.05}},
                 {"train.lr": {"log_range": [0.01, 0.1]}, "circuit.layers": {"range": [1, 4]},
                  "circuit.n_qubits": [4, 6, 8], "train.restore_best": [False, True]},
                 12, None)),
        Task("mnist35", "MNIST 3 vs 5, dressed quantum circuit, 10 qubits", 0.97, False,
             spec("mnist35", {
                 "data": {**mnist, "classes": [3, 5]},
                 "circuit": {"n_qubits": 10, "encoding": "angle", "layers": 2, "measurement": "z"},
                 "model": {"kind": "hybrid", "front": "linear", "hidden": 0},
                 "train": {"epochs": 10, "batch_size": 32}},
                 {"train.lr": {"log_range": [0.002, 0.05]}, "circuit.layers": {"range": [1, 3]},
                  "train.batch_size": [16, 32, 64]}, 8, 3)),
        Task("mnist10", "MNIST 10 classes, hybrid (CNN front), 8 qubits", 0.988, False,
             spec("mnist10", {
                 "data": {**mnist, "classes": list(range(10)), "augment": True},
                 "circuit": {"n_qubits": 8, "encoding": "angle", "layers": 2, "measurement": "zz"},
                 "model": {"kind": "hybrid", "front": "cnn", "hidden": 64},
                 # 20 epochs (15 until 2026-12-02): the cosine schedule's longer tail; both
                 # arms get it, and the search still fits its 5-minute cap on 2 cores
                 "train": {"epochs": 20, "batch_size": 64}},
                 {"train.lr": {"log_range": [0.003, 0.03]}, "circuit.measurement": ["z", "zz"],
                  "circuit.layers": {"range": [1, 3]}}, 12, 4)),
    )}


def verdict(task: Task, result: CompareResult) -> str:
    """PASS/MISS against the goal and the twin margin, in words."""
    hybrid = result.arms.get("hybrid")
    if hybrid is None or not hybrid.test_by_seed:
        return f"{task.key}: not measured ({result.status})"
    accs = list(hybrid.test_by_seed.values())
    mean = sum(accs) / len(accs)
    ok = min(accs) >= task.target if task.every_seed else mean >= task.target
    words = [f"{task.key}: hybrid {100 * mean:.2f}% (goal {'every seed ' if task.every_seed else ''}"
             f">= {100 * task.target:.1f}%): {'PASS' if ok else 'MISS'}"]
    diff = result.differences.get("hybrid - twin")
    if diff is not None:
        close = diff.mean >= -TWIN_MARGIN
        words.append(f"{'within' if close else 'NOT within'} 0.5 pt of its twin "
                     f"({100 * diff.mean:+.2f} pt)")
    return "; ".join(words)


def ship_demo(run_dir: Path, target: Path) -> None:
    """Copy a run folder as a demo model: no checkpoint, batch history thinned to stay small."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns(CHECKPOINT_FILE, "*.tmp",
                                                                  "tags.json"))
    metrics = read_json(target / METRICS_FILE)
    batches = metrics["history"]["batch"]
    every = max(1, len(batches) // MAX_SHIPPED_BATCHES)
    if every > 1:
        metrics["history"]["batch"] = batches[every - 1::every]
        metrics["history_note"] = f"batch history thinned to every {every}th step for shipping"
    atomic_write_json(target / METRICS_FILE, metrics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", choices=sorted(tasks(5, None)), default=[],
                        help="task to run (repeatable; default: all, one after another)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the comparisons")
    parser.add_argument("--runs", type=Path, default=None, help="run store for every trial")
    parser.add_argument("--minutes", type=float, default=5.0, help="time cap per arm")
    parser.add_argument("--trials", type=int, default=None, help="trials per arm (override)")
    parser.add_argument("--address", default=None, help="an existing Ray cluster")
    parser.add_argument("--resume", action="store_true", help="continue interrupted tasks")
    parser.add_argument("--demo-dir", type=Path, default=None,
                        help="copy the seed-1 hybrids of digits8 / mnist10 here as the demo "
                             "models digits-hybrid / mnist-hybrid (check tests/test_images.py)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="hqnn-accuracy-"))
    chosen = tasks(args.minutes, args.trials)
    failed = False
    for key in args.task or list(chosen):
        task = chosen[key]
        print(f"## {task.title}\n", flush=True)
        spec = CompareSpec.from_dict(task.spec)
        result = run_compare(spec, out / key, address=args.address, resume=args.resume,
                             runs_root=args.runs or out / "runs")
        print(compare_table_markdown(result))
        line = verdict(task, result)
        failed |= "MISS" in line or "NOT within" in line
        print(f"\n{line}\n", flush=True)
        seed1 = [r for r in result.arms["hybrid"].final if r.seed == 1 and r.run_id] \
            if "hybrid" in result.arms else []
        if args.demo_dir and key in DEMOS and seed1:
            runs = args.runs or out / "runs"
            ship_demo(runs / seed1[0].run_id, args.demo_dir / DEMOS[key])
    print(f"comparison folders: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
