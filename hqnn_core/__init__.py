"""hqnn: hybrid quantum-classical neural networks that classify images.

Public names are imported lazily so that ``import hqnn_core`` stays cheap and a missing
optional piece never breaks the others.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "CircuitConfig": "hqnn_core.config",
    "DataConfig": "hqnn_core.config",
    "ModelConfig": "hqnn_core.config",
    "TrainConfig": "hqnn_core.config",
    "RunConfig": "hqnn_core.config",
    "HqnnError": "hqnn_core.errors",
    "QuantumLayer": "hqnn_core.learning.layer",
    "build_circuit": "hqnn_core.circuits.build",
    "load_dataset": "hqnn_core.data.registry",
    "read_image": "hqnn_core.data.images",
    "build_model": "hqnn_core.learning.model",
    "fit": "hqnn_core.learning.training",
    "compile_step": "hqnn_core.learning.compiled_step",
    "load_run": "hqnn_core.learning.runs",
    "RunStore": "hqnn_core.learning.runs",
    "thread_scope": "hqnn_core.simulator.threads",
    "threads_for": "hqnn_core.simulator.threads",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hqnn_core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
