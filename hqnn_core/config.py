"""Frozen configuration dataclasses with validation and a JSON round trip.

A whole run is described by one ``RunConfig`` (data, circuit, model, train); every
checkpoint stores it, so any run can be rebuilt exactly. Unknown keys or values raise
``ConfigError`` naming them and listing what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar

from hqnn_core.errors import ConfigError

ENCODINGS = ("angle", "dense_angle", "amplitude", "basis", "iqp")
ANSATZE = ("hardware_efficient", "real_amplitudes", "efficient_su2", "strongly_entangling")
ENTANGLEMENTS = ("linear", "circular", "full")
MEASUREMENTS = ("z", "zz", "probs")
ROTATIONS = ("x", "y", "z")
DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "folder")
MODEL_KINDS = ("hybrid", "quantum", "classical")
FRONTS = ("linear", "cnn", "pca", "none")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("warmup_cosine", "cosine", "step", "none")
INITS = ("uniform", "small", "identity_blocks")
INPUT_NORMS = ("batch", "none")
MAX_QUBITS = 20

T = TypeVar("T")


def _choice(section: str, name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{section}.{name}={value!r} is not supported; choose one of: {', '.join(allowed)}."
        )


def _int_range(section: str, name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{section}.{name} must be a whole number, got {value!r}.")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{section}.{name} must be {bound}, got {value}.")


def _from_mapping(cls: type[T], section: str, data: Mapping[str, Any]) -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys by name."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"'{section}' must be a JSON object, got {type(data).__name__}.")
    allowed = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in '{section}': {', '.join(unknown)}; allowed: {', '.join(allowed)}."
        )
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:  # a wrong type that __post_init__ did not catch
        raise ConfigError(f"Invalid '{section}' section: {exc}.") from exc


def parse_json_text(text: str, where: str) -> Any:
    """``json.loads`` with a one-sentence ``ConfigError`` naming ``where`` and the position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                          f"{exc.msg}.") from None


def read_json_file(path: str | Path, what: str) -> Any:
    """The JSON content of a file; one-sentence ``ConfigError`` if unreadable or not JSON."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the {what} {path}: {exc.strerror}.") from None
    return parse_json_text(text, str(path))


def _to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_jsonable(v) for v in obj]
    return obj


@dataclass(frozen=True)
class CircuitConfig:
    """The quantum circuit: encoding, ansatz, depth, entanglement and readout.

    Qubit order is Qiskit's little-endian order everywhere (qubit 0 is the least
    significant bit of a basis-state index).
    """

    n_qubits: int = 8
    encoding: str = "angle"
    ansatz: str = "hardware_efficient"
    layers: int = 2
    entanglement: str = "circular"
    measurement: str = "z"
    reupload: bool = False
    rotation: str = "y"
    init: str = "uniform"
    input_scale: bool = True

    def __post_init__(self) -> None:
        _int_range("circuit", "n_qubits", self.n_qubits, 1, MAX_QUBITS)
        _choice("circuit", "encoding", self.encoding, ENCODINGS)
        _choice("circuit", "ansatz", self.ansatz, ANSATZE)
        _int_range("circuit", "layers", self.layers, 1, 50)
        _choice("circuit", "entanglement", self.entanglement, ENTANGLEMENTS)
        _choice("circuit", "measurement", self.measurement, MEASUREMENTS)
        _choice("circuit", "rotation", self.rotation, ROTATIONS)
        _choice("circuit", "init", self.init, INITS)
        if not isinstance(self.input_scale, bool):
            raise ConfigError(f"circuit.input_scale must be true or false, got {self.input_scale!r}.")
        if not isinstance(self.reupload, bool):
            raise ConfigError(f"circuit.reupload must be true or false, got {self.reupload!r}.")
        if self.init == "identity_blocks" and (self.layers % 2 or self.reupload):
            raise ConfigError(
                "circuit.init='identity_blocks' pairs each ansatz layer with its inverse, so it "
                f"needs an even number of layers (got {self.layers}) and reupload false "
                f"(got {str(self.reupload).lower()}); or use init 'uniform' or 'small'."
            )
        if self.reupload and self.encoding == "amplitude":
            raise ConfigError(
                "Amplitude encoding prepares the state from |0...0> and cannot be re-uploaded; "
                "set reupload to false or use angle, dense_angle, basis or iqp encoding."
            )
        if self.measurement == "probs" and self.n_qubits > 12:
            raise ConfigError(
                f"measurement='probs' gives 2**n outputs; with {self.n_qubits} qubits that is "
                "too many, use 12 qubits or fewer or measurement 'z'/'zz'."
            )

    @property
    def n_features(self) -> int:
        """How many classical features the encoding takes."""
        if self.encoding == "dense_angle":
            return 2 * self.n_qubits
        if self.encoding == "amplitude":
            return 2**self.n_qubits
        return self.n_qubits

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CircuitConfig":
        return _from_mapping(cls, "circuit", data)


@dataclass(frozen=True)
class DataConfig:
    """Which images, which classes, how many, and how they are shaped."""

    name: str = "digits"
    root: str | None = None
    classes: tuple[int, ...] | None = None
    train_size: int | None = None
    test_size: int | None = None
    val_fraction: float = 0.1
    image_size: int | None = None
    grayscale: bool = True
    augment: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        _choice("data", "name", self.name, DATASETS)
        if self.classes is not None:
            if not isinstance(self.classes, tuple) or len(self.classes) < 2:
                raise ConfigError("data.classes must list at least two classes, e.g. [0, 1].")
            if len(set(self.classes)) != len(self.classes):
                raise ConfigError(f"data.classes has repeated entries: {list(self.classes)}.")
        for name in ("train_size", "test_size", "image_size"):
            value = getattr(self, name)
            if value is not None:
                _int_range("data", name, value, 1)
        if not (isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 0.9):
            raise ConfigError(f"data.val_fraction must be in [0, 0.9), got {self.val_fraction!r}.")
        _int_range("data", "seed", self.seed, 0)


@dataclass(frozen=True)
class ModelConfig:
    """Which network wraps the circuit: hybrid, quantum-only, or the classical twin."""

    kind: str = "hybrid"
    front: str = "linear"
    hidden: int = 64
    dropout: float = 0.0
    input_norm: str = "batch"

    def __post_init__(self) -> None:
        _choice("model", "kind", self.kind, MODEL_KINDS)
        _choice("model", "input_norm", self.input_norm, INPUT_NORMS)
        _choice("model", "front", self.front, FRONTS)
        _int_range("model", "hidden", self.hidden, 0)
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout!r}.")


@dataclass(frozen=True)
class TrainConfig:
    """How the network is optimised; ``seed`` fixes every random choice of the run.

    The recipe keys (see README "Training recipe"): ``schedule`` "warmup_cosine" ramps the
    rate up linearly over the first ``warmup`` fraction of the steps, then decays it to 0
    along a cosine; ``weight_decay`` skips the circuit's angles unless ``decay_angles``;
    ``patience`` stops after that many epochs without a better validation accuracy (None:
    never) and ``restore_best`` tests the weights of the best validation epoch.
    """

    epochs: int = 30
    batch_size: int = 32
    lr: float = 0.03
    optimizer: str = "adam"
    schedule: str = "warmup_cosine"
    weight_decay: float = 0.0
    seed: int = 0
    backend: str = "exact"
    shots: int | None = None
    noise: str | None = None
    ibm_backend: str | None = None
    warmup: float = 0.05
    decay_angles: bool = False
    patience: int | None = None
    restore_best: bool = False

    def __post_init__(self) -> None:
        _int_range("train", "epochs", self.epochs, 1, 10_000)
        _int_range("train", "batch_size", self.batch_size, 1, 65_536)
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr <= 10):
            raise ConfigError(f"train.lr must be a positive number up to 10, got {self.lr!r}.")
        _choice("train", "optimizer", self.optimizer, OPTIMIZERS)
        _choice("train", "schedule", self.schedule, SCHEDULES)
        _int_range("train", "seed", self.seed, 0)
        _choice("train", "backend", self.backend, ("exact", "aer", "ibm"))
        if self.shots is not None:
            _int_range("train", "shots", self.shots, 1, 10_000_000)
        if not (isinstance(self.warmup, (int, float)) and 0 <= self.warmup < 1):
            raise ConfigError(f"train.warmup must be a fraction in [0, 1), got {self.warmup!r}.")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ConfigError(f"train.weight_decay must be 0 or more, got {self.weight_decay!r}.")
        for name in ("decay_angles", "restore_best"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"train.{name} must be true or false, "
                                  f"got {getattr(self, name)!r}.")
        if self.patience is not None:
            _int_range("train", "patience", self.patience, 1, 10_000)


# Recipe keys added after runs were first saved, with the values those runs were trained
# with: a saved run's config.json lacking a key predates it (saved configs hold every key).
LEGACY_VALUES: dict[str, dict[str, Any]] = {
    "circuit": {"init": "uniform", "input_scale": False},
    "model": {"input_norm": "none"},
    "train": {"warmup": 0.0, "decay_angles": True, "patience": None, "restore_best": False},
}


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to rebuild a run: data, circuit, model and training."""

    data: DataConfig = field(default_factory=DataConfig)
    circuit: CircuitConfig = field(default_factory=CircuitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunConfig":
        sections = {"data": DataConfig, "circuit": CircuitConfig, "model": ModelConfig,
                    "train": TrainConfig}
        if not isinstance(data, Mapping):
            raise ConfigError("A run configuration must be a JSON object.")
        unknown = sorted(set(data) - set(sections))
        if unknown:
            raise ConfigError(
                f"Unknown section(s): {', '.join(unknown)}; allowed: {', '.join(sections)}."
            )
        built = {name: _from_mapping(kind, name, data.get(name, {}))
                 for name, kind in sections.items()}
        return cls(**built)

    @classmethod
    def from_saved(cls, data: Mapping[str, Any]) -> "RunConfig":
        """A saved run's configuration: recipe keys it lacks take the values it was trained with.

        Use for a run folder's ``config.json`` (written in full by ``to_dict``), so models
        saved before a recipe key existed load and retrain as they did; hand-written
        configurations go through ``from_dict`` and get today's defaults.
        """
        if not isinstance(data, Mapping):
            raise ConfigError("A run configuration must be a JSON object.")
        filled = dict(data)
        for section, legacy in LEGACY_VALUES.items():
            given = data.get(section, {})
            if isinstance(given, Mapping):
                filled[section] = {**legacy, **given}
        return cls.from_dict(filled)

    @classmethod
    def from_json(cls, path: str | Path) -> "RunConfig":
        """Read a run configuration from a JSON file (never executes anything)."""
        return cls.from_dict(read_json_file(path, "configuration file"))
