"""Classifiers around one quantum layer: hybrid, quantum-only, and the classical twin.

Every model is a :class:`Classifier` = ``front -> core -> head``:

* ``front`` turns images ``(B, C, H, W)`` into the core's features ``(B, n_features)``:
  a trainable ``linear`` or ``cnn`` front (with ``model.input_norm`` "batch", a BatchNorm
  of its features before they become angles), or a fixed one (``pca``, or ``none`` = the
  encoding's own preprocessing, see :mod:`hqnn_core.learning.fronts`);
* ``core`` is the :class:`~hqnn_core.learning.layer.QuantumLayer` (hybrid, quantum) or, in the
  classical twin, ``Linear(n_features -> m) + tanh`` with ``m`` = the quantum layer's
  outputs for "z"/"zz" and ``m = n_qubits`` for "probs" (a register-wide classical layer);
* ``head`` maps the core's outputs to class scores: a trainable ``Linear(m -> K)``
  (hybrid, classical) or a fixed readout (quantum):

  - "probs": basis state ``j`` belongs to class ``j % K``; the score of a class is the log
    of the summed probability of its states (so softmax of the scores = those sums);
  - "z" / "zz": the score of class ``k`` is ``QUANTUM_Z_SCALE * <Z_k>`` for the first ``K``
    qubits (``<Z_k>`` in [-1, 1]; the fixed scale lets softmax get confident).

``model(x)`` returns class scores (logits) ``(B, K)``; ``model.encode(x)`` what the core
sees; ``model.quantum_layer`` is the QuantumLayer or None; ``model.preprocess_style``
says how ``prepare_image`` should treat raw pictures for this model.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor, nn

from hqnn_core.config import CircuitConfig, RunConfig
from hqnn_core.data.images import default_style
from hqnn_core.errors import ConfigError, ShapeError
from hqnn_core.learning.fronts import fixed_front, to_angles

QUANTUM_Z_SCALE = 5.0


class SeededDropout(nn.Module):
    """Dropout drawing its mask from ``self.generator`` (set by ``fit``) for reproducibility."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        if self.generator is None:
            return nn.functional.dropout(x, self.p, training=True)
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype) >= self.p
        return x * keep / (1 - self.p)


class FeatureScale(nn.Module):
    """Map a trainable front's raw outputs into the range the encoding expects."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self.encoding = encoding

    def forward(self, z: Tensor) -> Tensor:
        if self.encoding == "amplitude":
            return z  # normalised by the encoding itself
        if self.encoding == "basis":
            return torch.sigmoid(z)  # thresholded at 0.5 by the encoding
        return to_angles(z)


class FeatureNorm(nn.BatchNorm1d):
    """BatchNorm of a trainable front's features before they become angles.

    A training batch of one sample is normalised with the running statistics (BatchNorm
    cannot estimate a spread from one value).
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.shape[0] == 1:
            return nn.functional.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                            self.bias, False, 0.0, self.eps)
        return super().forward(x)


class ClassicalCore(nn.Module):
    """The twin's stand-in for the quantum layer: ``Linear(n_features -> m) + tanh``."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        super().__init__()
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.linear = nn.Linear(n_features, n_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(self.linear(x))


class ProbsReadout(nn.Module):
    """Fixed readout: class ``k`` collects basis states ``j`` with ``j % K == k``; log of sums."""

    def __init__(self, n_states: int, n_classes: int) -> None:
        super().__init__()
        assign = torch.zeros(n_states, n_classes)
        assign[torch.arange(n_states), torch.arange(n_states) % n_classes] = 1.0
        self.register_buffer("assign", assign)

    def forward(self, probs: Tensor) -> Tensor:
        return torch.log((probs @ self.assign).clamp_min(1e-12))  # (B, K)


class ZReadout(nn.Module):
    """Fixed readout: class ``k`` scores ``QUANTUM_Z_SCALE * <Z_k>`` (first K outputs)."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes

    def forward(self, z: Tensor) -> Tensor:
        return QUANTUM_Z_SCALE * z[..., : self.n_classes]


class Classifier(nn.Module):
    """``front -> core -> head``; see the module docstring for each kind."""

    def __init__(self, front: nn.Module, core: nn.Module, head: nn.Module, *,
                 kind: str, image_shape: tuple[int, ...], n_classes: int,
                 preprocess_style: str) -> None:
        super().__init__()
        self.front = front
        self.core = core
        self.head = head
        self.kind = kind
        self.image_shape = tuple(image_shape)
        self.n_classes = n_classes
        self.preprocess_style = preprocess_style

    @property
    def quantum_layer(self) -> nn.Module | None:
        """The QuantumLayer inside, or None for the classical twin."""
        return None if isinstance(self.core, ClassicalCore) else self.core

    def _check(self, x: Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ShapeError(
                f"Expected images shaped (B, {', '.join(map(str, self.image_shape))}), "
                f"got {tuple(x.shape)}."
            )

    def encode(self, x: Tensor) -> Tensor:
        """The features the core (quantum layer) sees: ``(B, C, H, W)`` -> ``(B, n_features)``."""
        self._check(x)
        return self.front(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.core(self.encode(x)))  # (B, K)


def _trainable_front(kind: str, image_shape: tuple[int, ...], n_features: int,
                     hidden: int, dropout: float, encoding: str, norm: str) -> nn.Module:
    c, h, w = image_shape
    layers: list[nn.Module] = []
    if kind == "cnn":
        layers += [nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                   nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        width = 32 * (h // 4) * (w // 4)
        if width == 0:
            raise ConfigError(f"The cnn front needs images of at least 4x4 pixels, got {h}x{w}.")
    else:
        width = c * h * w
    layers.append(nn.Flatten())
    if hidden:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    if dropout:
        layers.append(SeededDropout(dropout))
    layers.append(nn.Linear(width, n_features))
    if norm == "batch":
        layers.append(FeatureNorm(n_features))
    layers.append(FeatureScale(encoding))
    return nn.Sequential(*layers)


def _quantum_layer(cfg: RunConfig) -> nn.Module:
    from hqnn_core.learning.layer import QuantumLayer

    t = cfg.train
    return QuantumLayer(cfg.circuit, backend=t.backend, shots=t.shots, noise=t.noise,
                        ibm_backend=t.ibm_backend, seed=t.seed)


def _n_quantum_outputs(circuit: CircuitConfig) -> int:
    n = circuit.n_qubits
    if circuit.measurement == "probs":
        return 2**n
    if circuit.measurement == "zz":
        from hqnn_core.circuits.measurement import measured_pairs

        return n + len(measured_pairs(circuit))
    return n


def _readout(circuit: CircuitConfig, n_classes: int) -> nn.Module:
    if circuit.measurement == "probs":
        if 2**circuit.n_qubits < n_classes:
            raise ConfigError(
                f"{circuit.n_qubits} qubits give {2**circuit.n_qubits} basis states, fewer than "
                f"{n_classes} classes; use at least {math.ceil(math.log2(n_classes))} qubits."
            )
        return ProbsReadout(2**circuit.n_qubits, n_classes)
    if circuit.n_qubits < n_classes:
        raise ConfigError(
            f"A quantum-only model reads one class per qubit with measurement "
            f"'{circuit.measurement}', but {circuit.n_qubits} qubits cannot score {n_classes} "
            f"classes; use at least {n_classes} qubits or measurement 'probs'."
        )
    return ZReadout(n_classes)


def build_model(cfg: RunConfig, *, n_classes: int, image_shape: tuple[int, ...],
                x_train: Tensor | None = None) -> Classifier:
    """Build the network ``cfg.model`` describes for ``n_classes`` classes of ``image_shape`` images.

    ``x_train`` (``(N, C, H, W)``) fits fixed PCA fronts; without it those fronts hold
    placeholders until weights are loaded. Parameters use PyTorch's default init; ``fit``
    re-initialises them from the config seed.
    """
    if n_classes < 2:
        raise ConfigError(f"A classifier needs at least two classes, got {n_classes}.")
    if len(image_shape) != 3:
        raise ShapeError(f"image_shape must be (C, H, W), got {tuple(image_shape)}.")
    image_shape = tuple(int(s) for s in image_shape)
    m, circuit = cfg.model, cfg.circuit
    n_features = circuit.n_features
    if m.kind == "quantum" or m.front in ("pca", "none"):
        front = fixed_front(circuit, image_shape=image_shape, x_train=x_train,
                            force_pca=m.front == "pca")
    else:
        front = _trainable_front(m.front, image_shape, n_features, m.hidden, m.dropout,
                                 circuit.encoding, m.input_norm)
    if m.kind == "classical":
        width = circuit.n_qubits if circuit.measurement == "probs" else _n_quantum_outputs(circuit)
        core: nn.Module = ClassicalCore(n_features, width)
        head: nn.Module = nn.Linear(width, n_classes)
    elif m.kind == "quantum":
        head = _readout(circuit, n_classes)
        core = _quantum_layer(cfg)
    else:
        core = _quantum_layer(cfg)
        head = nn.Linear(int(core.n_outputs), n_classes)
    return Classifier(front, core, head, kind=m.kind, image_shape=image_shape,
                      n_classes=n_classes, preprocess_style=default_style(cfg.data.name))


def twin_config(cfg: RunConfig) -> RunConfig:
    """The classical twin of ``cfg``: same data, front, head and training; no quantum layer.

    A quantum-only model's twin keeps its fixed preprocessing (front "none", or "pca"
    if that was chosen) and gets a trainable classical layer and head in place of the circuit.
    """
    front = cfg.model.front
    if cfg.model.kind == "quantum" and front not in ("pca", "none"):
        front = "none"
    model = dataclasses.replace(cfg.model, kind="classical", front=front)
    return dataclasses.replace(cfg, model=model)


@torch.no_grad()
def init_parameters(model: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every classical Linear/Conv2d from ``generator`` (PyTorch's default scheme).

    The quantum layer's weights are seeded by the layer itself and left untouched.
    """
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                fan_in = module.weight[0].numel()
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        if isinstance(module, SeededDropout):
            module.generator = generator


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Trainable parameter counts: total, in the quantum layer, and classical."""
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    q_layer = getattr(model, "quantum_layer", None)
    quantum = sum(p.numel() for p in q_layer.parameters() if p.requires_grad) if q_layer else 0
    return {"total": total, "quantum": quantum, "classical": total - quantum}
