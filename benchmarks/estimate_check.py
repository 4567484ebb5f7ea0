"""The time estimate shown before Start, against the measured training of the same config.

    python benchmarks/estimate_check.py [--epochs N]

For a range of configurations (every simulation path, 4-14 qubits, the fronts, a classical
model) it times ``fit`` from the call to its return (data already loaded, the kernel warm:
what the studio's job does after the server's warm-up) and prints it beside
``hqnn_core.learning.resources.estimate``. The estimate is an order of magnitude: the ratio
column says how far off it is on this machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from hqnn_core import fit
from hqnn_core.config import RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.learning.resources import estimate, simulation_path

CASES: list[tuple[str, dict[str, Any]]] = [
    ("angle 4q", {"circuit": {"n_qubits": 4}}),
    ("angle 8q (studio default)", {}),
    ("angle 10q", {"circuit": {"n_qubits": 10}}),
    ("angle 12q", {"circuit": {"n_qubits": 12}}),
    ("angle 14q", {"circuit": {"n_qubits": 14}}),
    ("angle 8q zz 4 layers", {"circuit": {"n_qubits": 8, "layers": 4, "measurement": "zz"}}),
    ("re-uploading 8q", {"circuit": {"n_qubits": 8, "reupload": True}}),
    ("re-uploading 10q", {"circuit": {"n_qubits": 10, "reupload": True}}),
    ("amplitude 6q", {"circuit": {"n_qubits": 6, "encoding": "amplitude"}}),
    ("amplitude 8q", {"circuit": {"n_qubits": 8, "encoding": "amplitude"}}),
    ("iqp 8q", {"circuit": {"n_qubits": 8, "encoding": "iqp"}}),
    ("cnn front 8q", {"model": {"front": "cnn"}}),
    ("classical", {"model": {"kind": "classical"}}),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    data = load_dataset(RunConfig().data)
    fit(RunConfig.from_dict({"train": {"epochs": 1}}), run_dir=tempfile.mkdtemp(), data=data)
    print(f"{'configuration':28s} {'path':>7s} {'measured s':>11s} {'estimate s':>11s} {'ratio':>6s}")
    for name, overrides in CASES:
        cfg = RunConfig.from_dict({**overrides, "train": {"epochs": args.epochs, "seed": 1}})
        start = time.perf_counter()
        fit(cfg, run_dir=tempfile.mkdtemp(), data=data)
        measured = time.perf_counter() - start
        guess = estimate(cfg).train_seconds
        path = "-" if cfg.model.kind == "classical" else simulation_path(
            cfg.circuit, cfg.train.batch_size)
        print(f"{name:28s} {path:>7s} {measured:11.2f} {guess:11.2f} {guess / measured:6.2f}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
