"""Accuracy goals of issue 3, each printed beside its classical twin with training times.

    python benchmarks/accuracy.py [--only digits,mnist01,mnist10] [--out DIR] [--demo-dir DIR]

Goals (test accuracy on the dataset's held-out test images):
  digits   10 classes, hybrid, 8-qubit layer                          >= 95%
  mnist01  MNIST 0 vs 1, kind="quantum", amplitude encoding, 8 qubits >= 99%
  mnist10  MNIST 10 classes, hybrid, CNN front + 8-qubit layer        >= 98.5%, time <= 3x twin

MNIST comes from the offline ``mnist-10k`` folder (``HQNN_MNIST_ROOT``, else
``../shared/data/mnist-10k`` beside the repository). Run folders go to ``--out``;
``--demo-dir`` copies the digits and mnist10 models (without checkpoints) there as the
shipped demo models ``digits-hybrid`` and ``mnist-hybrid``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqnn_core.learning.checkpoint import CHECKPOINT_FILE, METRICS_FILE, atomic_write_json, read_json
from hqnn_core.config import RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.learning.model import twin_config
from hqnn_core.learning.training import fit

REPO = Path(__file__).resolve().parents[1]
MAX_SHIPPED_BATCHES = 300


def mnist_root() -> str:
    """The offline MNIST folder, relative to the working directory when it can be."""
    root = Path(os.environ.get("HQNN_MNIST_ROOT", REPO.parent / "shared/data/mnist-10k"))
    try:
        return os.path.relpath(root.resolve(), Path.cwd())
    except ValueError:
        return str(root.resolve())


@dataclass(frozen=True)
class Goal:
    key: str
    title: str
    config: dict[str, Any]
    target: float
    max_time_ratio: float | None = None
    demo_name: str | None = None


def goals() -> list[Goal]:
    """The three goals with the configurations this project uses to meet them."""
    mnist = {"name": "mnist", "root": mnist_root()}
    return [
        Goal("digits", "digits, 10 classes, hybrid (CNN front), 8 qubits", {
            "data": {"name": "digits", "augment": True},
            "circuit": {"n_qubits": 8, "encoding": "angle", "layers": 2, "measurement": "zz"},
            "model": {"kind": "hybrid", "front": "cnn", "hidden": 64},
            "train": {"epochs": 30, "batch_size": 32, "lr": 0.01, "schedule": "cosine",
                      "seed": 1},
        }, 0.95, demo_name="digits-hybrid"),
        Goal("mnist01", "MNIST 0 vs 1, quantum only, amplitude, 8 qubits", {
            "data": {**mnist, "classes": [0, 1]},
            "circuit": {"n_qubits": 8, "encoding": "amplitude", "layers": 3,
                        "ansatz": "strongly_entangling", "measurement": "probs"},
            "model": {"kind": "quantum", "front": "none"},
            "train": {"epochs": 3, "batch_size": 32, "lr": 0.05, "seed": 0},
        }, 0.99),
        Goal("mnist10", "MNIST, 10 classes, hybrid (CNN front), 8 qubits", {
            "data": {**mnist, "classes": list(range(10)), "augment": True},
            "circuit": {"n_qubits": 8, "encoding": "angle", "ansatz": "hardware_efficient",
                        "layers": 2, "entanglement": "circular", "measurement": "zz"},
            "model": {"kind": "hybrid", "front": "cnn", "hidden": 64},
            "train": {"epochs": 20, "batch_size": 64, "lr": 0.01, "schedule": "cosine",
                      "seed": 1},
        }, 0.985, max_time_ratio=3.0, demo_name="mnist-hybrid"),
    ]


def run_goal(goal: Goal, out: Path) -> dict[str, Any]:
    """Train the goal's model and its classical twin on the same data; return the figures."""
    cfg = RunConfig.from_dict(goal.config)
    data = load_dataset(cfg.data)
    row: dict[str, Any] = {}
    for label, run_cfg in (("model", cfg), ("twin", twin_config(cfg))):
        started = time.perf_counter()
        result = fit(run_cfg, run_dir=out / f"{goal.key}-{label}", data=data)
        row[label] = {"acc": result.metrics["test_accuracy"],
                      "train_s": result.metrics["train_seconds"],
                      "wall_s": time.perf_counter() - started,
                      "params": result.metrics["parameters"]["total"],
                      "run_dir": result.run_dir}
        print(f"  {goal.key} {label}: test accuracy {row[label]['acc']:.4f}, "
              f"train {row[label]['train_s']:.1f} s", flush=True)
    return row


def ship_demo(run_dir: Path, target: Path) -> None:
    """Copy a run folder as a demo model: no checkpoint, batch history thinned to stay small."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns(CHECKPOINT_FILE, "*.tmp"))
    metrics = read_json(target / METRICS_FILE)
    batches = metrics["history"]["batch"]
    every = max(1, len(batches) // MAX_SHIPPED_BATCHES)
    if every > 1:
        metrics["history"]["batch"] = batches[every - 1::every]
        metrics["history_note"] = f"batch history thinned to every {every}th step for shipping"
    atomic_write_json(target / METRICS_FILE, metrics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated goal keys")
    parser.add_argument("--out", type=Path, default=None, help="folder for the run folders")
    parser.add_argument("--demo-dir", type=Path, default=None,
                        help="copy the demo models (digits-hybrid, mnist-hybrid) here")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="hqnn-bench-"))
    wanted = {k for k in args.only.split(",") if k}
    rows = []
    for goal in goals():
        if wanted and goal.key not in wanted:
            continue
        print(f"{goal.title} ...", flush=True)
        rows.append((goal, run_goal(goal, out)))
        if args.demo_dir and goal.demo_name:
            ship_demo(rows[-1][1]["model"]["run_dir"], args.demo_dir / goal.demo_name)
    print()
    print(f"{'goal':<54} {'target':>7} {'acc':>7} {'time':>8} {'twin acc':>9} "
          f"{'twin time':>10} {'ratio':>6}  result")
    failed = False
    for goal, row in rows:
        m, t = row["model"], row["twin"]
        ratio = m["train_s"] / max(t["train_s"], 1e-9)
        ok = m["acc"] >= goal.target and (goal.max_time_ratio is None
                                          or ratio <= goal.max_time_ratio)
        failed |= not ok
        print(f"{goal.title:<54} {goal.target:>7.1%} {m['acc']:>7.2%} {m['train_s']:>7.1f}s "
              f"{t['acc']:>9.2%} {t['train_s']:>9.1f}s {ratio:>5.2f}x  "
              f"{'PASS' if ok else 'MISS'}  ({m['params']} vs {t['params']} parameters)")
    print(f"\nrun folders: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
