"""One input on several backends, side by side (the Hardware page's computation).

``local_comparison`` runs offline backends at once: the exact engine, noiseless Aer with
shots, and a noisy fake device (raw and readout-mitigated results from the same samples).
``HardwareJob`` runs the same input on IBM Quantum (or a fake device in local testing mode)
in a worker thread (``background.BackgroundJob``) that records job status for the UI to
poll; ``HardwareJobs`` keeps a bounded list of them and says whether the page must still
poll. ``transpile_summary`` is the layer's own circuit on a device. Nothing here calls
Streamlit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from hqnn_core.backends import make_executor
from hqnn_core.backends.mitigation import raw_and_mitigated
from hqnn_core.config import CircuitConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio.background import BackgroundJob

logger = logging.getLogger(__name__)

Head = Callable[[Tensor], Tensor]  # quantum outputs (1, K) -> class scores (1, C)
MAX_JOBS = 5  # hardware jobs a page keeps (running ones are never dropped)
POLL_SECONDS = 2.0  # how often the page re-reads jobs while one is running


@dataclass
class BackendResult:
    """Outputs of the quantum layer (and class probabilities, with a model) on one backend."""

    label: str
    outputs: np.ndarray  # (K,) quantum layer outputs
    class_probs: np.ndarray | None = None  # (C,) with a model head
    seconds: float = 0.0
    note: str = ""


def bare_features(image: Tensor, circuit: CircuitConfig) -> Tensor:
    """Features ``(1, n_features)`` for a bare quantum layer: the image downsampled to what
    the encoding can carry (angles in [0, π] for angle-type encodings)."""
    from hqnn_core.learning.fronts import encoding_view

    view = encoding_view(image.unsqueeze(0) if image.dim() == 3 else image, circuit)
    flat = view.flatten(1)[:, : circuit.n_features].to(torch.float32)  # (1, n_features)
    if circuit.encoding in ("amplitude", "basis"):
        return flat
    return flat * math.pi


def _probs(head: Head | None, outputs: np.ndarray) -> np.ndarray | None:
    if head is None:
        return None
    with torch.no_grad():
        scores = head(torch.as_tensor(outputs, dtype=torch.float32).reshape(1, -1))
        return torch.softmax(scores, dim=1)[0].numpy()


def _angles(layer: Any, features: Tensor) -> np.ndarray:
    with torch.no_grad():
        return layer.gate_angles(features).detach().to(torch.float64).cpu().numpy()  # (1, G)


def sampled_rows(executor: Any, angles: np.ndarray, label: str, head: Head | None,
                 *, mitigate: bool) -> list[BackendResult]:
    """Raw (and, if ``mitigate``, readout-mitigated) rows from one set of samples."""
    start = time.perf_counter()
    counts = executor.counts(angles)
    raw = executor.readout.from_counts(counts)[0]
    rows = [BackendResult(f"{label} raw" if mitigate else label, raw, _probs(head, raw),
                          time.perf_counter() - start)]
    if mitigate:
        table = None if executor.spec.measurement == "probs" else executor.readout.from_probs(
            np.eye(2**executor.spec.n_qubits))
        both = raw_and_mitigated(counts.dense(), executor.calibrate(), table)
        mitigated = both["mitigated"][0]
        rows.append(BackendResult(f"{label} mitigated", mitigated, _probs(head, mitigated),
                                  time.perf_counter() - start, note="tensored readout mitigation"))
    return rows


def exact_twin(layer: Any) -> Any:
    """The layer itself if it runs on the exact engine, else an exact copy with its weights."""
    if getattr(layer, "backend", "exact") == "exact":
        return layer
    from hqnn_core.learning.layer import QuantumLayer

    if layer.config is not None:
        twin = QuantumLayer(layer.config, dtype=layer.weights.dtype)
    else:
        twin = QuantumLayer.from_circuit(layer.circuit, layer.input_parameters,
                                         layer.weight_parameters, layer.observables or None,
                                         dtype=layer.weights.dtype)
    twin.load_state_dict(layer.state_dict())
    return twin


def local_comparison(layer: Any, features: Tensor, *, head: Head | None = None,
                     shots: int = 1000, device: str = "FakeManilaV2",
                     seed: int = 0) -> list[BackendResult]:
    """Exact, Aer with ``shots`` and the noisy fake ``device`` (raw and mitigated)."""
    start = time.perf_counter()
    with torch.no_grad():
        exact = exact_twin(layer)(features).detach().to(torch.float64).cpu().numpy()[0]
    rows = [BackendResult("exact", exact, _probs(head, exact), time.perf_counter() - start)]
    angles = _angles(layer, features)
    aer = make_executor(layer, backend="aer", shots=shots, seed=seed)
    rows += sampled_rows(aer, angles, f"aer {shots} shots", head, mitigate=False)
    noisy = make_executor(layer, backend="aer", shots=shots, noise=device, seed=seed)
    rows += sampled_rows(noisy, angles, f"{device} {shots} shots", head, mitigate=True)
    return rows


def output_labels(layer: Any) -> list[str]:
    """Names of a layer's outputs: ``<Z0>``, ``<Z0Z1>`` or basis states ``|01>``."""
    if layer.measurement == "probs":
        return [f"|{i:0{layer.n_qubits}b}>" for i in range(2**layer.n_qubits)]
    labels = []
    for obs in layer.observables:
        qubits = [q for q in range(layer.n_qubits) if obs.paulis.z[0][q]]
        labels.append("<" + "".join(f"Z{q}" for q in qubits) + ">")
    return labels


def comparison_table(rows: list[BackendResult], labels: list[str]) -> list[dict[str, Any]]:
    """One record per backend: its values under ``labels`` (outputs or classes) and timing."""
    records = []
    for row in rows:
        values = row.class_probs if row.class_probs is not None else row.outputs
        record: dict[str, Any] = {"backend": row.label}
        record.update({name: float(v) for name, v in zip(labels, values)})
        record["seconds"] = round(row.seconds, 3)
        records.append(record)
    return records


class HardwareJob(BackgroundJob):
    """One input on IBM Quantum in a worker thread; ``snapshot()`` is safe to poll."""

    what = "The hardware run"
    thread_name = "hqnn-hardware"

    def __init__(self, layer: Any, features: Tensor, ibm_backend: str | None, *,
                 head: Head | None = None, shots: int = 4000, seed: int = 0,
                 labels: list[str] | None = None) -> None:
        super().__init__()
        self.layer, self.features, self.ibm_backend = layer, features, ibm_backend
        self.head, self.shots, self.seed = head, shots, seed
        self.labels = labels if labels is not None else output_labels(layer)
        self._events: list[dict[str, Any]] = []
        self._rows: list[BackendResult] = []
        self._error: str | None = None

    def _status(self, info: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(dict(info))

    def _work(self, token: str | None) -> None:
        executor = make_executor(self.layer, backend="ibm", ibm_backend=self.ibm_backend,
                                 shots=self.shots, seed=self.seed, token=token,
                                 status_callback=self._status)
        try:
            rows = sampled_rows(executor, _angles(self.layer, self.features),
                                executor.backend.name, self.head, mitigate=True)
        finally:
            executor.close()
        with self._lock:
            self._rows = rows

    def _failed(self, message: str) -> None:
        with self._lock:
            self._error = message

    def start(self, token: str | None = None) -> "HardwareJob":
        """Start the worker thread (once); ``token`` lives only in that thread's call."""
        if self._thread is None:
            self._launch(token)
        return self

    def snapshot(self) -> dict[str, Any]:
        """``running``, the job status events so far, result rows and an error message."""
        with self._lock:
            return {"running": self.running, "events": list(self._events),
                    "rows": list(self._rows), "error": self._error}


class HardwareJobs:
    """The jobs a page has submitted, newest last: at most ``limit``, oldest finished dropped."""

    def __init__(self, limit: int = MAX_JOBS) -> None:
        self.limit = limit
        self._jobs: list[HardwareJob] = []

    def add(self, job: HardwareJob) -> HardwareJob:
        """Keep ``job``; refuses (one sentence) while ``limit`` jobs are still running."""
        if sum(j.running for j in self._jobs) >= self.limit:
            raise HqnnError(f"{self.limit} hardware jobs are still running; wait for one to "
                            "finish before submitting another.")
        self._jobs.append(job)
        while len(self._jobs) > self.limit:
            oldest = next(j for j in self._jobs[:-1] if not j.running)
            self._jobs.remove(oldest)
        return job

    def __iter__(self) -> Iterator[HardwareJob]:
        return iter(list(self._jobs))

    def __len__(self) -> int:
        return len(self._jobs)

    def __getitem__(self, index: int) -> HardwareJob:
        return self._jobs[index]

    @property
    def poll_seconds(self) -> float | None:
        """``POLL_SECONDS`` while a job is running, else None (nothing left to poll)."""
        return POLL_SECONDS if any(j.running for j in self._jobs) else None


_TRANSPILED: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_TRANSPILED_LOCK = threading.Lock()


def _fingerprint(circuit: Any) -> str:
    """The circuit's instructions as text: equal for equal circuits built twice."""
    return repr([(inst.operation.name, [circuit.find_bit(q).index for q in inst.qubits],
                  [str(p) for p in inst.operation.params]) for inst in circuit.data])


def transpile_summary(circuit: Any, device: str) -> dict[str, Any]:
    """Depth, two-qubit count, layout and operations of ``circuit`` on a fake device (cached).

    Pass the layer's own ``layer.circuit``: a layer built ``from_circuit`` has no config.
    """
    from hqnn_core.backends.devices import transpile_for_device

    key = (_fingerprint(circuit), device)
    with _TRANSPILED_LOCK:
        if key in _TRANSPILED:
            _TRANSPILED.move_to_end(key)
            return _TRANSPILED[key]
    result = transpile_for_device(circuit, device, seed=0)
    summary = {"depth": result.depth, "two_qubit": result.two_qubit_count,
               "layout": list(result.layout), "ops": dict(result.op_counts)}
    with _TRANSPILED_LOCK:
        _TRANSPILED[key] = summary
        while len(_TRANSPILED) > 32:
            _TRANSPILED.popitem(last=False)
    return summary


@dataclass
class Subject:
    """What the Hardware page compares: a quantum layer, its input features and a head."""

    layer: Any
    features: Tensor  # (1, n_features)
    head: Head | None
    labels: list[str]  # class names with a model head, otherwise output labels
    description: str


def subject_for(circuit: CircuitConfig, image: Tensor, *, run: Any = None,
                seed: int = 0) -> Subject:
    """A trained run's quantum layer and head if it has one, else the bare ``circuit`` layer."""
    if run is not None and getattr(run.model, "quantum_layer", None) is not None:
        model = run.model
        with torch.no_grad():
            features = model.encode(image.unsqueeze(0).to(torch.float32))
        return Subject(model.quantum_layer, features, model.head, list(run.class_names),
                       f"trained model {run.path.name}")
    from hqnn_core.learning.layer import QuantumLayer

    layer = QuantumLayer(circuit, seed=seed)
    return Subject(layer, bare_features(image, circuit), None, output_labels(layer),
                   "the bare quantum layer (untrained weights)")


def dataset_test_image(data: Any, index: int) -> tuple[Tensor, str]:
    """Image ``index`` (wrapped) of the test split of data config ``data``, and its class name."""
    from hqnn_core.data.registry import load_dataset

    split = load_dataset(data)
    i = index % len(split.y_test)
    return split.x_test[i], split.class_names[int(split.y_test[i])]
