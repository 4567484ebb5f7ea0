"""IBM fake devices: listing, summaries and transpilation for a named device.

The fake backends of ``qiskit_ibm_runtime.fake_provider`` carry a real device's coupling
map, basis gates and calibration data (error rates, T1/T2), so they stand in for hardware
offline. Creating one is slow-ish, so backends and their summaries are cached.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from hqnn_core.errors import ConfigError

logger = logging.getLogger(__name__)

TWO_QUBIT_GATES = ("cx", "ecr", "cz", "swap", "rzz", "rxx", "ryy", "cp", "crx", "cry", "crz")


@dataclass(frozen=True)
class TranspileResult:
    """A circuit transpiled for a device, with the figures the UI shows."""

    circuit: QuantumCircuit
    depth: int
    two_qubit_count: int
    op_counts: dict[str, int] = field(default_factory=dict)
    layout: list[int] = field(default_factory=list)  # physical qubit of each logical qubit


@lru_cache(maxsize=1)
def _fake_classes() -> dict[str, tuple[int, type]]:
    """Name -> (number of qubits, class) of every V2 fake backend (read from its JSON)."""
    import qiskit_ibm_runtime.fake_provider as fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    found: dict[str, tuple[int, type]] = {}
    for name in dir(fake_provider):
        cls = getattr(fake_provider, name)
        if not (isinstance(cls, type) and issubclass(cls, FakeBackendV2)) or cls is FakeBackendV2:
            continue
        conf = getattr(cls, "conf_filename", None)
        if not conf:
            continue
        try:
            with open(os.path.join(cls.dirname, conf), encoding="utf-8") as handle:
                n_qubits = int(json.load(handle)["n_qubits"])
        except (OSError, KeyError, ValueError):
            logger.debug("Skipping fake backend %s: unreadable configuration", name)
            continue
        found[name] = (n_qubits, cls)
    return found


def list_fake_devices() -> list[str]:
    """Names of the V2 fake backends in ``qiskit_ibm_runtime.fake_provider``, small ones first."""
    classes = _fake_classes()
    return sorted(classes, key=lambda name: (classes[name][0], name))


def fake_device_qubits(name: str) -> int:
    """Number of qubits of the fake device ``name`` (without building the backend)."""
    _check_name(name)
    return _fake_classes()[name][0]


def _check_name(name: str) -> None:
    if name not in _fake_classes():
        raise ConfigError(
            f"Unknown device {name!r}; choose one of: {', '.join(list_fake_devices())}."
        )


@lru_cache(maxsize=16)
def get_fake_backend(name: str) -> Any:
    """The (cached) fake backend instance called ``name``, e.g. ``"FakeManilaV2"``."""
    _check_name(name)
    return _fake_classes()[name][1]()


def _median(values: list[float]) -> float | None:
    clean = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(clean)) if clean else None


def backend_summary(backend: Any) -> dict[str, Any]:
    """Qubits, basis gates and median error rates / coherence times of a BackendV2."""
    target = backend.target
    basis = sorted(
        op for op in target.operation_names
        if op not in ("measure", "reset", "delay", "switch_case", "for_loop", "if_else",
                      "while_loop", "barrier")
    )
    readout: list[float] = []
    if "measure" in target:
        readout = [p.error for p in target["measure"].values() if p is not None]
    two_qubit: list[float] = []
    for op in target.operation_names:
        if op in TWO_QUBIT_GATES:
            two_qubit.extend(
                p.error for qargs, p in target[op].items()
                if p is not None and qargs is not None and len(qargs) == 2
            )
    t1: list[float] = []
    t2: list[float] = []
    for props in target.qubit_properties or []:
        if props is not None:
            t1.append(props.t1)
            t2.append(props.t2)
    median_t1, median_t2 = _median(t1), _median(t2)
    return {
        "name": backend.name,
        "qubits": int(backend.num_qubits),
        "basis_gates": basis,
        "median_readout_error": _median(readout),
        "median_2q_error": _median(two_qubit),
        "median_t1_us": None if median_t1 is None else median_t1 * 1e6,
        "median_t2_us": None if median_t2 is None else median_t2 * 1e6,
    }


@lru_cache(maxsize=128)
def device_summary(name: str) -> dict[str, Any]:
    """Summary of a fake device: qubits, basis gates, median readout/2-qubit error, T1/T2 (µs)."""
    return dict(backend_summary(get_fake_backend(name)))


def resolve_backend(device: str | Any) -> Any:
    """A fake backend by name, or the given backend object unchanged."""
    return get_fake_backend(device) if isinstance(device, str) else device


def transpile_for_backend(
    circuit: QuantumCircuit, backend: Any, *, seed: int = 0, optimization_level: int = 1
) -> TranspileResult:
    """Transpile ``circuit`` with the preset pass manager of ``backend`` (an ISA circuit)."""
    if circuit.num_qubits > backend.num_qubits:
        raise ConfigError(
            f"The circuit needs {circuit.num_qubits} qubits but {backend.name} has only "
            f"{backend.num_qubits}; choose a larger device or fewer qubits."
        )
    manager = generate_preset_pass_manager(
        backend=backend, optimization_level=optimization_level, seed_transpiler=seed
    )
    isa = manager.run(circuit)
    layout = list(isa.layout.final_index_layout()) if isa.layout is not None else list(
        range(circuit.num_qubits)
    )
    counts = {str(k): int(v) for k, v in isa.count_ops().items()}
    two_qubit = sum(
        1 for inst in isa.data
        if inst.operation.num_qubits == 2 and inst.operation.name not in ("barrier",)
    )
    return TranspileResult(
        circuit=isa, depth=int(isa.depth()), two_qubit_count=two_qubit, op_counts=counts,
        layout=layout,
    )


def transpile_for_device(
    circuit: QuantumCircuit, name: str, *, seed: int = 0, optimization_level: int = 1
) -> TranspileResult:
    """Transpile ``circuit`` for the fake device ``name`` (depth, 2-qubit count, layout)."""
    return transpile_for_backend(
        circuit, get_fake_backend(name), seed=seed, optimization_level=optimization_level
    )
