"""What a configuration will cost before it runs: memory to build, memory to train, time.

Pure functions of the configuration (nothing is built or allocated). The dominant terms:

* **Construction**: the exact engine keeps every gate angle as a dense affine map of the
  inputs and weights (``hqnn_core.simulator.expressions``): ``G x (I + W)`` float64 entries,
  held about three times while the layer is set up (numpy, torch, the fused plan). For
  amplitude encoding ``G ~ I ~ 2**n``, so 16 qubits would need ~100 GiB.
* **Engine**: the statevectors of one batch, ``batch x 2**n x (2 x steps + 4)`` complex
  numbers, the same bound ``QuantumLayer`` enforces with ``HQNN_MAX_STATE_BYTES``.
* **Time**: a fixed setup, then per batch a cost that depends on the simulation path the
  layer will take (``simulation_path``: the compiled kernel, the NumPy fused path for
  re-uploading layers, or the general engine) plus ``2**n x steps`` amplitude updates per
  sample. The constants were measured with ``fit`` on a 2-core machine
  (``benchmarks/estimate_check.py`` prints estimate against measured time for a range of
  configurations); the figure is shown as an order of magnitude, never promised.

``check(cfg)`` raises ``ResourceError`` (one sentence naming the limit) when the estimate is
over ``HQNN_MAX_MEMORY_BYTES`` (default 8 GiB, the default of ``HQNN_MAX_STATE_BYTES``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from hqnn_core.circuits.ansatz import n_weight_parameters
from hqnn_core.circuits.encodings import n_input_parameters
from hqnn_core.config import CircuitConfig, RunConfig
from hqnn_core.errors import ResourceError
from hqnn_core.simulator.fused import KERNEL_MAX_AMPLITUDES, KERNEL_MAX_QUBITS, MAX_QUBITS

DEFAULT_LIMIT_BYTES = 8 * 2**30
CONSTRUCTION_COPIES = 3  # the angle map is held as numpy, torch and plan copies at setup
FIXED_BYTES = 400 * 2**20  # interpreter, torch, qiskit and the data, measured ~350 MiB
SETUP_SECONDS = 2.0  # data, layer construction, the kernel's load; first batches
# Per batch of training (forward, backward, optimiser step), measured with `fit` at batch 32
# on 2 cores: seconds of fixed work and seconds per amplitude update per sample.
BATCH_SECONDS = {"kernel": 2e-3, "numpy": 6e-3, "engine": 8e-3, "classical": 1.5e-3}
AMPLITUDE_SECONDS = {"kernel": 1.2e-8, "numpy": 2e-8, "engine": 1.5e-8}
CNN_BATCH_SECONDS = 3.5e-3  # the convolutional front's share of a batch
EVAL_SHARE = 0.1  # validation and test passes, relative to the training batches
POOL_SIZES = {"digits": 1438, "mnist": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000,
              "folder": 1_000}


@dataclass(frozen=True)
class Estimate:
    """Bytes to build the layer, bytes of one batch in the engine, and rough seconds."""

    construction_bytes: int
    batch_bytes: int
    train_seconds: float
    limit_bytes: int

    @property
    def total_bytes(self) -> int:
        """Construction, one training batch and the fixed part of the process."""
        return self.construction_bytes + self.batch_bytes + FIXED_BYTES

    @property
    def fits(self) -> bool:
        """Whether the estimate is within the limit."""
        return self.total_bytes <= self.limit_bytes


def memory_limit() -> int:
    """``HQNN_MAX_MEMORY_BYTES`` if set, else 8 GiB."""
    raw = os.environ.get("HQNN_MAX_MEMORY_BYTES")
    return int(raw) if raw else DEFAULT_LIMIT_BYTES


def engine_steps(circuit: CircuitConfig) -> int:
    """Steps of the compiled program (an upper estimate: encoding, rotations, entanglers)."""
    encodings = circuit.layers if circuit.reupload else 1
    return encodings + 2 * circuit.layers + 1


def simulation_path(circuit: CircuitConfig, batch: int) -> str:
    """The path a ``QuantumLayer`` of this circuit takes for a CPU batch of ``batch`` inputs:
    ``"kernel"`` (compiled, product-state encodings without re-uploading), ``"numpy"`` (the
    fused path of re-uploading layers) or ``"engine"`` (everything else)."""
    if circuit.encoding in ("amplitude", "iqp"):
        return "engine"
    if circuit.reupload:
        return "numpy" if circuit.n_qubits <= MAX_QUBITS else "engine"
    fits = (circuit.n_qubits <= KERNEL_MAX_QUBITS
            and batch * 2**circuit.n_qubits <= KERNEL_MAX_AMPLITUDES)
    return "kernel" if fits else "engine"


def construction_bytes(circuit: CircuitConfig) -> int:
    """Bytes the exact engine needs to set up this circuit's angle map."""
    inputs, weights = n_input_parameters(circuit), n_weight_parameters(circuit)
    angles = inputs * (circuit.layers if circuit.reupload else 1) + weights
    return CONSTRUCTION_COPIES * 8 * angles * (inputs + weights)


def batch_bytes(circuit: CircuitConfig, batch: int, *, itemsize: int = 8) -> int:
    """Bytes of one batch of statevectors (complex64 by default) in the engine."""
    return batch * itemsize * 2**circuit.n_qubits * (2 * engine_steps(circuit) + 4)


def train_samples(cfg: RunConfig) -> int:
    """Training images per epoch: ``train_size``, else the dataset's pool (class subset)."""
    if cfg.data.train_size is not None:
        return cfg.data.train_size
    pool = POOL_SIZES.get(cfg.data.name, 1_000)
    return pool if cfg.data.classes is None else pool * len(cfg.data.classes) // 10


def estimate(cfg: RunConfig) -> Estimate:
    """The memory and rough time of training ``cfg`` (classical models cost no circuit)."""
    limit = memory_limit()
    samples = train_samples(cfg)
    batch = min(cfg.train.batch_size, samples)
    batches = math.ceil(samples / cfg.train.batch_size) * cfg.train.epochs
    front = CNN_BATCH_SECONDS if cfg.model.front == "cnn" else 0.0
    if cfg.model.kind == "classical":
        per_batch = BATCH_SECONDS["classical"] + front
        return Estimate(0, 0, SETUP_SECONDS + (1 + EVAL_SHARE) * batches * per_batch, limit)
    c = cfg.circuit
    path = simulation_path(c, batch)
    steps = engine_steps(c) + (c.n_qubits - 1 if c.encoding == "amplitude" else 0)  # its tree
    per_batch = (BATCH_SECONDS[path] + front
                 + AMPLITUDE_SECONDS[path] * batch * 2**c.n_qubits * steps)
    seconds = SETUP_SECONDS + (1 + EVAL_SHARE) * batches * per_batch
    return Estimate(construction_bytes(c), batch_bytes(c, batch), seconds, limit)


def gib(n_bytes: float) -> str:
    """Bytes as a short human figure: ``"1.5 GiB"``, ``"320 MiB"``."""
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"


def check_circuit(circuit: CircuitConfig) -> None:
    """``ResourceError`` if setting up this circuit alone would pass the memory limit."""
    needed, limit = construction_bytes(circuit), memory_limit()
    if needed + FIXED_BYTES > limit:
        raise ResourceError(
            f"Building {circuit.n_qubits}-qubit {circuit.encoding} encoding needs about "
            f"{gib(needed)} for its gate-angle map, over the memory limit of {gib(limit)} "
            "(HQNN_MAX_MEMORY_BYTES); use fewer qubits or another encoding.")


def check(cfg: RunConfig) -> Estimate:
    """The estimate of ``cfg``; ``ResourceError`` (one sentence) if it is over the limit."""
    found = estimate(cfg)
    if cfg.model.kind != "classical":
        check_circuit(cfg.circuit)
    if not found.fits:
        raise ResourceError(
            f"Training this configuration needs about {gib(found.total_bytes)} (a batch of "
            f"{cfg.train.batch_size} on {cfg.circuit.n_qubits} qubits holds "
            f"{gib(found.batch_bytes)} of statevectors), over the memory limit of "
            f"{gib(found.limit_bytes)} (HQNN_MAX_MEMORY_BYTES); use a smaller batch or fewer "
            "qubits.")
    return found
