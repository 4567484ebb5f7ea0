"""What a configuration will cost before it runs: memory to build, memory to train, time.

Pure functions of the configuration (nothing is built or allocated). The dominant terms:

* **Construction**: the exact engine keeps every gate angle as a dense affine map of the
  inputs and weights (``hqnn_core.simulator.expressions``): ``G x (I + W)`` float64 entries,
  held about three times while the layer is set up (numpy, torch, the fused plan). For
  amplitude encoding ``G ~ I ~ 2**n``, so 16 qubits would need ~100 GiB.
* **Engine**: the statevectors of one batch, ``batch x 2**n x (2 x steps + 4)`` complex
  numbers, the same bound ``QuantumLayer`` enforces with ``HQNN_MAX_STATE_BYTES``.
* **Time**: a rough pace of ``2**n x steps`` amplitude updates per sample and batch, measured
  on a 2-core machine; it is shown as an order of magnitude, never promised.

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

DEFAULT_LIMIT_BYTES = 8 * 2**30
CONSTRUCTION_COPIES = 3  # the angle map is held as numpy, torch and plan copies at setup
FIXED_BYTES = 400 * 2**20  # interpreter, torch, qiskit and the data, measured ~350 MiB
SECONDS_PER_AMPLITUDE_STEP = 1.5e-6  # forward + backward, per sample (measured, 2 cores)
SECONDS_PER_BATCH = 0.01  # optimiser step, front, head, bookkeeping
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
    batches = math.ceil(samples / cfg.train.batch_size) * cfg.train.epochs
    if cfg.model.kind == "classical":
        return Estimate(0, 0, batches * SECONDS_PER_BATCH, limit)
    c = cfg.circuit
    per_sample = SECONDS_PER_AMPLITUDE_STEP * 2**c.n_qubits * engine_steps(c)
    seconds = samples * cfg.train.epochs * per_sample + batches * SECONDS_PER_BATCH
    return Estimate(construction_bytes(c), batch_bytes(c, min(cfg.train.batch_size, samples)),
                    seconds, limit)


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
