"""Ray's overhead: a local sweep's wall time against the training time of its trials.

    python benchmarks/sweep_overhead.py [SPEC.json] [--trials N]

Runs the sweep (default ``assets/sweeps/digits-quick.json`` without early stopping and
without the final re-training) on the embedded local Ray and prints: the wall time of the
whole sweep (Ray start and shutdown included), the sum of the trials' optimisation time
(``train_seconds`` of each run: batches only), the sum of each trial's time from start to
end as the driver saw it (process start, imports, data, model build, evaluation included),
and the ideal wall time ``sum(train) / cores``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from hqnn_core.sweeps.run import ray_session, run_sweep
from hqnn_core.sweeps.spec import SweepSpec

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(REPO / "assets/sweeps/digits-quick.json"))
    parser.add_argument("--trials", type=int, default=None)
    args = parser.parse_args(argv)
    spec = SweepSpec.from_json(args.spec).replace(early_stopping=False, minutes=None)
    if args.trials:
        spec = spec.replace(trials=args.trials)
    out = Path(tempfile.mkdtemp(prefix="hqnn-overhead-"))
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    with ray_session(num_cpus=cores):
        ray_up = time.perf_counter() - started
        outcome = run_sweep(spec, out / "sweep", runs_root=out / "runs", retrain=False)
    wall = time.perf_counter() - started
    rows = [r for r in outcome.trials if r.status == "completed"]
    train = sum(r.train_seconds or 0.0 for r in rows)
    trial_wall = sum(r.wall_seconds or 0.0 for r in rows)
    print(f"{len(rows)} trials on {cores} cores; Ray start {ray_up:.1f} s")
    print(f"sweep wall time          {wall:8.1f} s")
    print(f"sum of training time     {train:8.1f} s  (ideal wall on {cores} cores: "
          f"{train / cores:.1f} s)")
    print(f"sum of trial wall times  {trial_wall:8.1f} s  (process, imports, data, model, eval)")
    print(f"wall / ideal             {wall / max(train / cores, 1e-9):8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
