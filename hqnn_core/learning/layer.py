"""``QuantumLayer``: one Qiskit circuit as a ``torch.nn.Module``, on any backend.

The exact backend compiles the circuit into the torch statevector engine
(``hqnn_core.simulator``); other backends (Aer, IBM) run the same circuit through
``hqnn_core.backends`` with parameter-shift gradients. Qubit order is Qiskit's
little-endian order everywhere.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.circuits.ansatz import identity_init
from hqnn_core.circuits.build import build_circuit
from hqnn_core.circuits.encodings import amplitude_tree_angles
from hqnn_core.config import CircuitConfig
from hqnn_core.backends.program import SHIFT_RULE_GATES
from hqnn_core.errors import ConfigError, ResourceError, ShapeError
from hqnn_core.learning.resources import check_circuit
from hqnn_core.simulator.compile import compile_circuit, flatten
from hqnn_core.simulator.engine import StatevectorProgram, permute_columns
from hqnn_core.simulator.expressions import AngleBlock, parse_angles
from hqnn_core.simulator.fused import FusedPath, fused_plan
from hqnn_core.simulator.fused_op import fused_outputs
from hqnn_core.simulator.gates import inverse_permutation
from hqnn_core.simulator.readout import observable_diagonals, readout_prefix
from hqnn_core.simulator.threads import loop_threads, scoped, threads_for

BACKENDS = ("exact", "aer", "ibm")
# Circuit weights start uniform in (-r, r): "uniform" the whole circle; "small" near 0 (the ansatz
# then starts close to its entanglers alone, against barren plateaus in deep circuits).
# "identity_blocks" draws the free layers like "uniform" and starts their mirror layers at minus
# those angles, so the ansatz starts as the identity (Grant et al. 2019).
INIT_RANGES = {"uniform": math.pi, "small": 0.1 * math.pi, "identity_blocks": math.pi}
SCALED_ENCODINGS = ("angle", "dense_angle", "iqp")  # encodings whose inputs are angles
DEFAULT_MAX_STATE_BYTES = 8 * 2**30


class QuantumLayer(torch.nn.Module):
    """A parameterized quantum circuit as a differentiable layer.

    Built from a ``CircuitConfig``, or from a circuit of your own with ``from_circuit``.
    ``layer(x)`` maps ``(..., n_features)`` to ``(..., n_outputs)``: expectations of
    ``layer.observables`` or basis-state probabilities (``layer.measurement == "probs"``).
    ``use_fused`` (default True) lets product-state circuits take the fused NumPy path
    with an adjoint backward; set it False to use the torch engine's autograd.
    ``max_state_bytes`` (default ``HQNN_MAX_STATE_BYTES`` or 8 GiB) bounds the memory a
    forward pass may ask for. ``config.init`` sets the circuit weights' initial range
    (``INIT_RANGES``; "identity_blocks" starts the ansatz as the identity);
    ``config.input_scale`` adds ``input_weights`` (one trainable factor per feature, starting
    at 1) multiplying angle-type inputs before they are encoded.
    """

    use_fused: bool = True

    def __init__(self, config: CircuitConfig, *, backend: str = "exact",
                 shots: int | None = None, noise: str | None = None,
                 ibm_backend: str | None = None, dtype: torch.dtype = torch.float32,
                 seed: int | None = None) -> None:
        super().__init__()
        if not isinstance(config, CircuitConfig):
            raise ConfigError("QuantumLayer takes a CircuitConfig, e.g. "
                              "QuantumLayer(CircuitConfig(n_qubits=4)); for a circuit of your "
                              "own use QuantumLayer.from_circuit(circuit, inputs, weights).")
        check_circuit(config)  # before anything is allocated
        self.config: CircuitConfig | None = config
        built = build_circuit(config)
        observables = None if config.measurement == "probs" else built.observables
        self._setup(built.circuit, list(built.inputs), list(built.weights), observables,
                    backend=backend, shots=shots, noise=noise, ibm_backend=ibm_backend,
                    dtype=dtype, seed=seed)

    @classmethod
    def from_circuit(cls, circuit: QuantumCircuit, inputs: Sequence[Parameter],
                     weights: Sequence[Parameter],
                     observables: Sequence[SparsePauliOp] | None = None, *,
                     backend: str = "exact", shots: int | None = None, noise: str | None = None,
                     ibm_backend: str | None = None, dtype: torch.dtype = torch.float32,
                     seed: int | None = None) -> "QuantumLayer":
        """A layer for a Qiskit circuit of your own.

        ``inputs`` are the circuit parameters fed from the layer's input (in column order),
        ``weights`` the trained ones; gate angles may be affine in both and quadratic in the
        inputs. ``observables`` are Z-type ``SparsePauliOp`` (one or a list; outputs are their
        expectations); without them the outputs are the 2**n basis-state probabilities.
        """
        if not isinstance(circuit, QuantumCircuit):
            raise ConfigError("from_circuit takes a qiskit QuantumCircuit.")
        if isinstance(observables, SparsePauliOp):
            observables = [observables]
        if observables is not None and len(observables) == 0:
            raise ConfigError("Give at least one observable, or observables=None for the "
                              "basis-state probabilities.")
        if set(inputs) & set(weights):
            raise ConfigError("A parameter cannot be both an input and a weight.")
        layer = cls.__new__(cls)
        torch.nn.Module.__init__(layer)
        layer.config = None
        layer._setup(circuit, list(inputs), list(weights),
                     None if observables is None else list(observables), backend=backend,
                     shots=shots, noise=noise, ibm_backend=ibm_backend, dtype=dtype, seed=seed)
        return layer

    def _setup(self, circuit: QuantumCircuit, inputs: list[Parameter], weights: list[Parameter],
               observables: list[SparsePauliOp] | None, *, backend: str, shots: int | None,
               noise: str | None, ibm_backend: str | None, dtype: torch.dtype,
               seed: int | None) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"backend={backend!r} is not supported; choose one of: "
                              f"{', '.join(BACKENDS)}.")
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError("dtype must be torch.float32 or torch.float64.")
        if backend == "exact" and (shots is not None or noise is not None):
            raise ConfigError("shots and noise need backend='aer' (or 'ibm'); the exact "
                              "backend computes expectations exactly.")
        self.backend = backend
        self.circuit: QuantumCircuit = circuit
        self.input_parameters, self.weight_parameters = inputs, weights
        self.observables = observables or []
        self.measurement = "probs" if observables is None else (
            self.config.measurement if self.config is not None else "observables")
        self.n_qubits = circuit.num_qubits
        self.n_features = self.config.n_features if self.config is not None else len(inputs)
        self.n_outputs = 2**self.n_qubits if observables is None else len(observables)
        compiled = compile_circuit(circuit, inputs, weights)
        self.program = StatevectorProgram(compiled)
        self._state_entries = 2**self.n_qubits * (2 * len(compiled.steps) + 4)
        self.max_state_bytes = int(os.environ.get("HQNN_MAX_STATE_BYTES",
                                                  DEFAULT_MAX_STATE_BYTES))
        self._n_forward, readout_index = readout_prefix(compiled.steps, self.n_qubits)
        if observables is None:
            self.register_buffer("readout_index", torch.tensor(readout_index), persistent=False)
            inverse = inverse_permutation(readout_index)
            self.register_buffer("readout_inverse", torch.tensor(inverse), persistent=False)
            readout = readout_index
        else:
            diagonals = observable_diagonals(self.observables, self.n_qubits)
            readout = diagonals[inverse_permutation(readout_index)]
            self.register_buffer("readout_matrix", torch.tensor(readout), persistent=False)
        plan = fused_plan(compiled, self._n_forward)
        self._fused = None if plan is None else FusedPath(
            compiled, plan, readout, readout_is_index=observables is None,
            reference=self._engine)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        init = self.config.init if self.config is not None else "uniform"
        draw = torch.rand(len(weights), generator=generator, dtype=torch.float64) * 2 - 1
        values = draw * INIT_RANGES[init]
        if self.config is not None:
            mirror, zeros = identity_init(self.config)  # identity_blocks: undo each free layer
            for i, partner in mirror.items():
                values[i] = -values[partner]
            values[zeros] = 0.0
        self.weights = torch.nn.Parameter(values.to(dtype))
        if self.config is not None and self.config.input_scale and \
                self.config.encoding in SCALED_ENCODINGS:
            self.input_weights = torch.nn.Parameter(torch.ones(self.n_features, dtype=dtype))
        else:
            self.input_weights = None
        self.to(dtype)
        self._gate_angle_circuit: QuantumCircuit | None = None
        self._gate_angle_block: AngleBlock | None = None
        self._runner: Any = None
        if backend != "exact":
            from hqnn_core.backends import make_runner

            self._runner = make_runner(self, backend=backend, shots=shots, noise=noise,
                                       ibm_backend=ibm_backend, seed=seed)

    @property
    def n_weights(self) -> int:
        """Number of trainable circuit angles."""
        return self.weights.numel()

    def extra_repr(self) -> str:
        c = self.config
        if c is None:
            return (f"n_qubits={self.n_qubits}, circuit={self.circuit.name!r}, "
                    f"inputs={self.n_features}, outputs={self.n_outputs}, backend={self.backend}")
        return (f"n_qubits={c.n_qubits}, encoding={c.encoding}, ansatz={c.ansatz}, "
                f"layers={c.layers}, measurement={c.measurement}, backend={self.backend}")

    def input_values(self, x: torch.Tensor) -> torch.Tensor:
        """Circuit input parameter values (B, n_inputs) for features (B, n_features)."""
        encoding = self.config.encoding if self.config is not None else None
        if self.input_weights is not None:
            return x * self.input_weights  # trainable per-feature frequency of the encoding
        if encoding == "amplitude":
            return amplitude_tree_angles(x)
        if encoding == "basis":
            return (x > 0.5).to(x.dtype)
        return x

    def _check(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
        if not isinstance(x, torch.Tensor):
            raise ShapeError(f"QuantumLayer expects a torch.Tensor, got {type(x).__name__}.")
        if x.dim() == 0 or x.shape[-1] != self.n_features:
            what = f"{self.config.encoding} encoding" if self.config is not None else "a circuit"
            raise ShapeError(
                f"QuantumLayer expects inputs of shape (..., {self.n_features}) for "
                f"{what} on {self.n_qubits} qubits, got {tuple(x.shape)}."
            )
        if x.is_complex():
            raise ShapeError("QuantumLayer expects real-valued inputs.")
        lead = tuple(x.shape[:-1])
        flat = x if x.dim() == 2 else x.reshape(-1, self.n_features)
        dtype = self.weights.dtype
        if flat.dtype != dtype:
            flat = flat.to(dtype)
        self._check_memory(flat.shape[0], dtype)
        return flat, lead

    def _check_memory(self, batch: int, dtype: torch.dtype) -> None:
        itemsize = 16 if dtype == torch.float64 else 8
        needed = batch * itemsize * self._state_entries
        if needed > self.max_state_bytes:
            limit = self.max_state_bytes
            raise ResourceError(
                f"A batch of {batch} on {self.n_qubits} qubits needs about "
                f"{needed / 2**30:.1f} GiB for statevectors (limit {limit / 2**30:.1f} GiB); "
                "use a smaller batch or fewer qubits."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (..., n_outputs) for features (..., n_features)."""
        flat, lead = self._check(x)
        if self._runner is not None:
            angles = self.gate_angles(flat)
            out = self._runner(angles, self._needs_shift(flat))
        else:
            out = self._exact(self.input_values(flat))
        return out if lead == (out.shape[0],) else out.reshape(*lead, self.n_outputs)

    def _exact(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._fused is not None and self.use_fused and self._fused.applies_to(inputs):
            return fused_outputs(self._fused, inputs, self.weights)
        if inputs.device.type == "cpu":  # hqnn's thread count for the engine, and its backward
            count = threads_for(self.n_qubits, inputs.shape[0])
            return scoped(count, self._engine, inputs, self.weights)
        return self._engine(inputs, self.weights)

    def threads(self, batch: int) -> int:
        """The thread count for a loop of calls on ``batch`` samples (``loop_threads``): 1 for
        small circuits; for large ones the caller's count, which each forward and backward
        inside caps by the idle cores of the moment (the torch engine's intra-op threads, or
        the compiled kernel's threads over chunks of the batch)."""
        return loop_threads(self.n_qubits, batch)

    def _engine(self, inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        state = self.program(inputs, weights, self._n_forward)
        probs = torch.view_as_real(state).square().sum(-1)  # (B, 2**n)
        if self.measurement == "probs":
            return permute_columns(probs, self.readout_index, self.readout_inverse)
        return probs @ self.readout_matrix.to(probs.dtype)

    def statevector(self, x: torch.Tensor) -> torch.Tensor:
        """Exact final states (..., 2**n) for features (..., n_features)."""
        flat, lead = self._check(x)
        state = self.program(self.input_values(flat), self.weights)
        return state.reshape(*lead, 2**self.n_qubits)

    def bound_circuit(self, x: torch.Tensor) -> QuantumCircuit:
        """The circuit with every input and weight bound for one sample (no measurements)."""
        flat, _ = self._check(torch.as_tensor(x))
        if flat.shape[0] != 1:
            raise ShapeError(f"bound_circuit takes one sample of {self.n_features} features, "
                             f"got {flat.shape[0]}.")
        values = self.input_values(flat)[0].detach().double().cpu().numpy()
        weights = self.weights.detach().double().cpu().numpy()
        binding = dict(zip(self.input_parameters, values.tolist()))
        binding.update(zip(self.weight_parameters, weights.tolist()))
        return self.circuit.assign_parameters(binding, strict=False)  # unused inputs are fine

    @property
    def gate_angle_circuit(self) -> QuantumCircuit:
        """The circuit with one parameter φ[g] per parameterized gate (shift-rule gates only)."""
        if self._gate_angle_circuit is None:
            self._build_gate_angles()
        return self._gate_angle_circuit  # type: ignore[return-value]

    def gate_angles(self, x: torch.Tensor) -> torch.Tensor:
        """Angles (B, G) of ``gate_angle_circuit`` for features (B, n_features)."""
        if self._gate_angle_block is None:
            self._build_gate_angles()
        block = self._gate_angle_block
        assert block is not None
        block = block.to(self.weights.device)
        values = self.input_values(x.to(self.weights.dtype))
        angles = block(values, self.weights)
        return angles.expand(values.shape[0], -1) if angles.dim() == 1 else angles

    def _build_gate_angles(self) -> None:
        ops = flatten(self.circuit, keep_amplitude=False, allowed=set(SHIFT_RULE_GATES))
        expressions = [p for op in ops if op.matrix is None for p in op.params]
        phi = ParameterVector("φ", len(expressions))
        qc = QuantumCircuit(self.n_qubits, name=self.circuit.name)
        g = 0
        for op in ops:
            if op.matrix is not None:
                qc.append(op.operation, op.qubits)
                continue
            qc.append(SHIFT_RULE_GATES[op.name](phi[g]), op.qubits)
            g += 1
        parsed = parse_angles(expressions, self.input_parameters, self.weight_parameters)
        block = AngleBlock(parsed, range(len(expressions)))
        block.batched = True
        self._gate_angle_circuit = qc
        self._gate_angle_block = block
        self._angle_uses = (np.abs(parsed.a_w).sum(1) > 0, parsed.depends_on_inputs)

    def _needs_shift(self, x: torch.Tensor) -> np.ndarray:
        """(G,) bool: the gate angles that carry a gradient — those of weights that require
        one, and those of inputs when ``x`` requires one (parameter shift skips the rest)."""
        uses_weights, uses_inputs = self._angle_uses
        return (uses_weights & self.weights.requires_grad) | (uses_inputs & x.requires_grad)
