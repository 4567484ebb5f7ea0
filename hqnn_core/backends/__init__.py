"""Quantum backends behind ``QuantumLayer``: Qiskit Aer and IBM Quantum, by parameter shift.

``make_runner`` turns a layer (or a ``CircuitSpec``) into a module mapping gate angles
``(B, G)`` to outputs ``(B, K)``; its gradient is the exact two-term parameter-shift rule,
with the batch and all its shifted copies sent to the backend in one call.
"""

from __future__ import annotations

from typing import Any

from hqnn_core.backends.program import CircuitSpec
from hqnn_core.backends.shift import ShiftRunner
from hqnn_core.errors import ConfigError

BACKENDS = ("aer", "ibm")

__all__ = ["BACKENDS", "CircuitSpec", "ShiftRunner", "close_backend", "make_executor",
           "make_runner", "set_status_callback"]


def make_executor(layer: Any, *, backend: str, shots: int | None = None, noise: str | None = None,
                  ibm_backend: str | None = None, seed: int | None = None, mitigate: bool = False,
                  token: str | None = None, status_callback: Any = None) -> Any:
    """The numpy executor ``(M, G) -> (M, K)`` of a layer on ``backend`` ("aer" or "ibm")."""
    spec = layer if isinstance(layer, CircuitSpec) else CircuitSpec.from_layer(layer)
    if backend == "aer":
        from hqnn_core.backends.aer import AerExecutor

        return AerExecutor(spec, shots=shots, noise=noise, seed=seed, mitigate=mitigate)
    if backend == "ibm":
        from hqnn_core.backends.ibm import IBMExecutor, resolve_ibm_backend

        device = resolve_ibm_backend(ibm_backend or noise, token=token)
        return IBMExecutor(spec, device, shots=shots, seed=seed, mitigate=mitigate,
                           status_callback=status_callback)
    raise ConfigError(
        f"backend={backend!r} has no runner; choose one of: {', '.join(BACKENDS)} "
        "('exact' runs inside QuantumLayer itself)."
    )


def make_runner(layer: Any, *, backend: str, shots: int | None = None, noise: str | None = None,
                ibm_backend: str | None = None, seed: int | None = None, mitigate: bool = False,
                token: str | None = None, status_callback: Any = None) -> ShiftRunner:
    """A module mapping ``(B, G)`` gate angles to ``(B, K)`` outputs on Aer or IBM Quantum.

    ``token`` (IBM only) is used for this runner and not stored; ``status_callback`` receives
    job status dictionaries (``job_id``, ``backend``, ``status``, ``queue_position``).
    """
    executor = make_executor(layer, backend=backend, shots=shots, noise=noise,
                             ibm_backend=ibm_backend, seed=seed, mitigate=mitigate, token=token,
                             status_callback=status_callback)
    spec = executor.spec
    runner = ShiftRunner(executor, n_angles=spec.n_angles, n_outputs=spec.n_outputs,
                         name=executor.name)
    return runner


def set_status_callback(layer: Any, callback: Any) -> bool:
    """Route a layer's IBM job status dictionaries to ``callback`` (e.g. training events).

    Returns False (and does nothing) when the layer does not run on IBM Quantum.
    """
    executor = getattr(getattr(layer, "_runner", None), "executor", None)
    if executor is None or not hasattr(executor, "status_callback"):
        return False
    executor.status_callback = callback
    return True


def close_backend(layer: Any) -> bool:
    """End the session a layer's backend holds (IBM: its runtime ``Batch``); a later job opens
    a new one. Returns False (and does nothing) when the layer holds none."""
    close = getattr(getattr(getattr(layer, "_runner", None), "executor", None), "close", None)
    if close is None:
        return False
    close()
    return True
