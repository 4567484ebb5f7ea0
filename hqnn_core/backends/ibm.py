"""IBM Quantum execution with qiskit-ibm-runtime (0.51: the client-side executor primitives).

``qiskit_ibm_runtime.SamplerV2``/``EstimatorV2`` are deprecated since 0.50; this module uses
``qiskit_ibm_runtime.executor_sampler.Sampler`` inside a ``Batch``: the layer's circuit is
transpiled once into an ISA circuit for the device (preset pass manager), measured, and one
job samples every parameter set of a batch. One Batch is opened on the executor's first job
and kept for all later ones (forward passes, parameter-shift copies, and the readout
calibration circuits of ``mitigation.py``); a Batch that has expired is replaced once, and
``close()`` ends it. A fake backend name (``"FakeManilaV2"``) selects
runtime's local testing mode, the same code path offline.

The token comes from, in order: an explicit argument (e.g. a UI password field, used for
that call only), the ``QISKIT_IBM_TOKEN`` environment variable, or an account saved with
``save_token`` (``QiskitRuntimeService.save_account``). It is never logged or stored elsewhere.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from typing import Any, Callable

import numpy as np
from qiskit import QuantumCircuit

from hqnn_core.backends.executor import SampledExecutor
from hqnn_core.backends.program import CircuitSpec, PreparedCircuit, prepare
from hqnn_core.backends.readout import SparseCounts, bitarray_samples
from hqnn_core.errors import BackendError, ConfigError

logger = logging.getLogger(__name__)

TOKEN_ENV = "QISKIT_IBM_TOKEN"
DEFAULT_CHANNEL = "ibm_quantum_platform"
DEFAULT_SHOTS = 4096
FINAL_STATES = ("DONE", "ERROR", "CANCELLED")
StatusCallback = Callable[[dict[str, Any]], None]

HOW_TO_TOKEN = (
    "set the QISKIT_IBM_TOKEN environment variable, enter a token on the Hardware page, "
    "or save one with hqnn_core.backends.ibm.save_token('<token>')"
)


def _saved_account_exists() -> bool:
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        return bool(QiskitRuntimeService.saved_accounts())
    except Exception:  # an unreadable account file counts as no account
        logger.debug("Could not read saved IBM Quantum accounts", exc_info=False)
        return False


def token_source(token: str | None = None) -> str | None:
    """Where a token would come from: "argument", "environment", "saved account" or None."""
    if token:
        return "argument"
    if os.environ.get(TOKEN_ENV):
        return "environment"
    if _saved_account_exists():
        return "saved account"
    return None


def save_token(token: str, *, channel: str = DEFAULT_CHANNEL, instance: str | None = None,
               overwrite: bool = True) -> None:
    """Save an IBM Quantum account on disk (``QiskitRuntimeService.save_account``)."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    if not token or not token.strip():
        raise ConfigError("The IBM Quantum token is empty; paste the API key of your account.")
    try:
        QiskitRuntimeService.save_account(token=token.strip(), channel=channel, instance=instance,
                                          overwrite=overwrite, set_as_default=True)
    except Exception as exc:
        raise BackendError(
            f"Could not save the IBM Quantum account ({type(exc).__name__}); check that the "
            "home folder is writable."
        ) from None
    logger.info("Saved an IBM Quantum account for channel %s", channel)


def get_service(token: str | None = None, *, channel: str = DEFAULT_CHANNEL,
                instance: str | None = None) -> Any:
    """A ``QiskitRuntimeService`` from an explicit token, the environment or a saved account."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    source = token_source(token)
    if source is None:
        raise BackendError(f"No IBM Quantum token found; {HOW_TO_TOKEN}.")
    secret = token or os.environ.get(TOKEN_ENV)
    try:
        if secret:
            return QiskitRuntimeService(channel=channel, token=secret, instance=instance)
        return QiskitRuntimeService(instance=instance)
    except Exception as exc:  # network, authentication and account errors from runtime
        raise BackendError(
            f"Could not connect to IBM Quantum with the token from the {source} "
            f"({type(exc).__name__}); check the token and the network connection."
        ) from None


def is_fake_name(name: str | None) -> bool:
    """True for fake-device names (local testing mode)."""
    return bool(name) and str(name).startswith("Fake")


def resolve_ibm_backend(name: str | None, *, token: str | None = None) -> Any:
    """A fake backend for a ``Fake...`` name; otherwise the named (or least busy) IBM device."""
    if is_fake_name(name):
        from hqnn_core.backends.devices import get_fake_backend

        return get_fake_backend(str(name))
    service = get_service(token)
    try:
        if name:
            return service.backend(name)
        return service.least_busy(operational=True, simulator=False)
    except Exception as exc:
        names = ", ".join(list_ibm_devices(service=service)) or "none"
        raise ConfigError(f"IBM device {name!r} is not available ({type(exc).__name__}); "
                          f"available: {names}.") from None


def list_ibm_devices(token: str | None = None, *, service: Any = None) -> list[str]:
    """Names of the operational IBM Quantum devices this account can use."""
    service = service or get_service(token)
    try:
        return sorted(b.name for b in service.backends(operational=True, simulator=False))
    except Exception as exc:
        raise BackendError(f"Could not list IBM Quantum devices ({type(exc).__name__}); "
                           "check the network connection.") from None


def describe_ibm_devices(token: str | None = None) -> list[dict[str, Any]]:
    """Qubits, basis gates and median error rates of each operational IBM device."""
    from hqnn_core.backends.devices import backend_summary

    service = get_service(token)
    try:
        backends = service.backends(operational=True, simulator=False)
        return sorted((backend_summary(b) for b in backends), key=lambda d: d["name"])
    except Exception as exc:
        raise BackendError(f"Could not read the IBM Quantum devices ({type(exc).__name__}); "
                           "check the network connection.") from None


def is_local(backend: Any) -> bool:
    """True if ``backend`` runs in runtime's local testing mode (a fake device or Aer)."""
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    return isinstance(backend, (FakeBackendV2, AerSimulator))


def _close_quietly(batch: Any) -> None:
    try:
        batch.close()
    except Exception:  # closing is best effort; an expired Batch is already closed
        logger.debug("Could not close an IBM Batch", exc_info=False)


def _status_name(status: Any) -> str:
    return str(getattr(status, "name", status)).upper()


class IBMExecutor(SampledExecutor):
    """Runs ``(M, G)`` gate angles on an IBM device (or a fake one locally) -> ``(M, K)``."""

    def __init__(self, spec: CircuitSpec, backend: Any, *, shots: int | None = None,
                 seed: int | None = None, mitigate: bool = False,
                 status_callback: StatusCallback | None = None, poll_seconds: float = 2.0) -> None:
        super().__init__(spec, mitigate=mitigate)
        self.backend = backend
        self.shots = DEFAULT_SHOTS if shots is None else int(shots)
        self.seed = seed
        self.status_callback = status_callback
        self.poll_seconds = poll_seconds
        self.prepared: PreparedCircuit = prepare(spec, backend, seed=seed or 0)
        self.jobs: list[dict[str, Any]] = []
        self._calls = 0
        self._batch: Any = None
        self.local = is_local(backend)

    @property
    def target(self) -> Any:
        """The device every circuit is transpiled for."""
        return self.backend

    @property
    def name(self) -> str:
        """Short description for logs and the UI."""
        return f"ibm ({self.backend.name}, shots={self.shots})"

    def _sampler(self, mode: Any) -> Any:
        from qiskit_ibm_runtime.executor_sampler import Sampler

        sampler = Sampler(mode=mode)
        sampler.options.default_shots = self.shots
        if self.local and self.seed is not None:
            sampler.options.simulator.seed_simulator = self.seed + self._calls
        self._calls += 1
        return sampler

    def _report(self, info: dict[str, Any]) -> None:
        logger.info("IBM job %s on %s: %s", info["job_id"], info["backend"], info["status"])
        if self.status_callback is not None:
            self.status_callback(dict(info))

    def _wait(self, job: Any) -> Any:
        info: dict[str, Any] = {"job_id": job.job_id(), "backend": self.backend.name,
                                "status": "SUBMITTED", "queue_position": None}
        self.jobs.append(info)
        self._report(info)
        while True:
            status = _status_name(job.status())
            position = None
            if status in ("QUEUED", "INITIALIZING"):
                try:
                    position = job.metrics().get("position_in_queue")
                except Exception:  # queue details are best effort
                    position = None
            if (status, position) != (info["status"], info["queue_position"]):
                info.update(status=status, queue_position=position)
                self._report(info)
            if status in FINAL_STATES or self.local:
                break  # local testing-mode jobs finish inside result()
            time.sleep(self.poll_seconds)
        try:
            result = job.result()
        except Exception as exc:
            info.update(status="ERROR")
            self._report(info)
            raise BackendError(
                f"IBM job {info['job_id']} failed ({type(exc).__name__}: {exc}); see the job "
                "on the IBM Quantum dashboard."
            ) from None
        if info["status"] != "DONE":
            info.update(status="DONE")
            self._report(info)
        return result

    def close(self) -> None:
        """End this executor's Batch (a later job opens a new one)."""
        batch, self._batch = self._batch, None
        if batch is not None:
            _close_quietly(batch)

    def _open_batch(self) -> Any:
        from qiskit_ibm_runtime import Batch

        if self._batch is None:
            self._batch = Batch(backend=self.backend)
            weakref.finalize(self, _close_quietly, self._batch)
        return self._batch

    def _submit(self, pubs: list[tuple]) -> Any:
        """Submit pubs in this executor's Batch, replacing it once if it has expired."""
        fresh = self._batch is None
        try:
            return self._sampler(self._open_batch()).run(pubs)
        except Exception:
            if fresh:
                raise
            logger.info("The IBM Batch is no longer usable; opening a new one")
            self.close()
            return self._sampler(self._open_batch()).run(pubs)

    def _sample(self, pubs: list[tuple]) -> list[np.ndarray]:
        """Run sampler pubs in this executor's Batch; integer samples ``(M, shots)`` per pub."""
        try:
            result = self._wait(self._submit(pubs))
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(
                f"Could not run on {self.backend.name} ({type(exc).__name__}: {exc}); check the "
                "device status and the network connection."
            ) from None
        samples = []
        for pub_result in result:
            bits = pub_result.data.meas
            array = bitarray_samples(bits)
            samples.append(array.reshape(-1, array.shape[-1]))
        return samples

    def counts(self, angles: np.ndarray) -> SparseCounts:
        """Sampled distributions of the measured logical qubits for ``(M, G)`` angles."""
        circuit = self.prepared.measured
        values = self.prepared.bind_values(angles, circuit)  # (M, P)
        (samples,) = self._sample([(circuit, values)])
        return SparseCounts.from_samples(samples, self.spec.n_qubits)

    def _run_measured(self, circuits: list[QuantumCircuit]) -> SparseCounts:
        samples = self._sample([(c,) for c in circuits])
        return SparseCounts.from_samples(np.concatenate(samples), self.spec.n_qubits)
