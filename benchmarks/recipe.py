"""The default training recipe on digits: each configuration and its twin, seed by seed.

    python benchmarks/recipe.py [--only default,linear8,...] [--seeds 1,2,3] [--set KEY=JSON ...]

Every configuration below names only its architecture (front, qubits, readout, kind);
everything else is the recipe's defaults (``RunConfig``), untuned. Each is trained on
scikit-learn's digits (offline) for every seed, then its classical twin
(``twin_config``) with the same recipe; the table lists test accuracy per seed, mean,
spread (max - min), the mean validation accuracy (what a recipe choice should be decided
on), hybrid minus twin, and mean training seconds. ``--set`` overrides a
key for every configuration (e.g. ``--set train.restore_best=true``) to measure one
recipe choice against the defaults. Torch runs on one thread, as in a sweep trial.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import torch

from hqnn_core.config import RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.learning.model import twin_config
from hqnn_core.learning.training import fit

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "linear8-z": {"circuit": {"n_qubits": 8, "measurement": "z"}, "model": {"hidden": 0}},
    "cnn6-zz": {"circuit": {"n_qubits": 6, "measurement": "zz"}, "model": {"front": "cnn"}},
    "linear10-zz": {"circuit": {"n_qubits": 10, "measurement": "zz"}},
    "linear4-probs": {"circuit": {"n_qubits": 4, "measurement": "probs"}},
    "pca10-z": {"circuit": {"n_qubits": 10, "measurement": "z"}, "model": {"front": "pca"}},
    "quantum6-probs": {"circuit": {"n_qubits": 6, "measurement": "probs"},
                       "model": {"kind": "quantum", "front": "pca"}},
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in extra.items():
        out.setdefault(section, {}).update(values)
    return out


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        section, _, name = key.partition(".")
        out.setdefault(section, {})[name] = json.loads(raw)
    return out


def measure(name: str, spec: dict[str, Any], seeds: list[int]) -> None:
    """Train ``spec`` and its twin on every seed and print one row each."""
    for label in ("hybrid", "twin"):
        accs, vals, secs = [], [], []
        for seed in seeds:
            cfg = RunConfig.from_dict(_merge(spec, {"train": {"seed": seed}}))
            if label == "twin":
                cfg = twin_config(cfg)
            result = fit(cfg, data=load_dataset(cfg.data))
            accs.append(100 * result.metrics["test_accuracy"])
            vals.append(100 * result.metrics["val_accuracy"])
            secs.append(result.metrics["train_seconds"])
        per_seed = " ".join(f"{a:6.2f}" for a in accs)
        print(f"{name:15s} {label:6s} {per_seed}  mean {statistics.mean(accs):6.2f}  "
              f"spread {max(accs) - min(accs):5.2f}  (validation {statistics.mean(vals):6.2f})  "
              f"{statistics.mean(secs):6.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CONFIGS))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    extra = _overrides(args.set)
    print(f"seeds {seeds}; overrides {extra or 'none'}; recipe {RunConfig().train}")
    for name in args.only.split(","):
        measure(name, _merge(CONFIGS[name], extra), seeds)


if __name__ == "__main__":
    main()
