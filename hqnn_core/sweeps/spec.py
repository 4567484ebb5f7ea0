"""A sweep specification: a base run configuration plus a search space, a search and a budget.

JSON form (every key but ``base`` and ``space`` optional)::

    {"name": "digits-lr",
     "base":  {RunConfig dict},
     "space": {"train.lr": {"log_range": [0.001, 0.1]},       # float, log-uniform
               "circuit.layers": {"range": [1, 4]},            # whole numbers 1..4
               "model.front": {"choice": ["linear", "cnn"]},   # or simply ["linear", "cnn"]
               "circuit.n_qubits": [4, 6, 8]},
     "search": "random",            # grid | random | bayes (Optuna TPE)
     "trials": 20, "minutes": 15,   # budget: trials and/or wall minutes
     "early_stopping": {"grace_epochs": null, "reduction_factor": 3},  # ASHA; false = off
     "seeds": [1, 2, 3],            # the best configuration is retrained on these
     "finalists": 1,                # the top N configurations are retrained on the seeds and
                                    # the best mean validation accuracy over them is chosen
     "concurrency": null,           # at most this many trials at once (default: one per CPU)
     "search_seed": 0,
     "variant": "as_is"}            # as_is | twin | logistic | mlp (used by compare)

Keys of the space are dotted config keys (``section.field`` of :class:`RunConfig`), or for the
``logistic`` / ``mlp`` baselines ``baseline.<field>`` of :data:`BASELINE_FIELDS`. A grid over a
float range needs ``"steps"``. Selection is always on the validation split (``val_acc``), so the
base configuration must keep a validation split. Every problem raises ``ConfigError`` with one
sentence. Nothing here imports Ray.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from hqnn_core.config import RunConfig, read_json_file
from hqnn_core.errors import ConfigError

SEARCHES = ("grid", "random", "bayes")
VARIANTS = ("as_is", "twin", "logistic", "mlp")
KINDS = ("choice", "range", "log_range")
SPEC_KEYS = ("name", "base", "space", "search", "trials", "minutes", "early_stopping", "seeds",
             "finalists", "concurrency", "search_seed", "variant")
#: Tunable fields of the raw-pixel baselines, with their defaults.
BASELINE_FIELDS: dict[str, dict[str, Any]] = {
    "logistic": {"C": 1.0, "max_iter": 500},
    "mlp": {"hidden": 128, "alpha": 1e-4, "lr": 1e-3, "max_iter": 200},
}
MAX_GRID = 10_000
METRIC = "val_acc"


@dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    key: str
    kind: str  # choice | range | log_range
    values: tuple[Any, ...] = ()  # choice
    low: float | int | None = None
    high: float | int | None = None
    integer: bool = False
    steps: int | None = None  # grid points of a range

    def grid(self) -> list[Any]:
        """The values a grid search visits."""
        if self.kind == "choice":
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.integer and self.steps is None:
            return list(range(int(self.low), int(self.high) + 1))
        if self.steps is None:
            raise ConfigError(f"space '{self.key}': a grid over a float range needs \"steps\", "
                              "e.g. {\"range\": [0.001, 0.1], \"steps\": 4}.")
        n = self.steps
        if self.kind == "log_range":
            a, b = math.log(self.low), math.log(self.high)
            points = [math.exp(a + (b - a) * i / max(1, n - 1)) for i in range(n)]
        else:
            points = [self.low + (self.high - self.low) * i / max(1, n - 1) for i in range(n)]
        if self.integer:
            return sorted({int(round(p)) for p in points})
        return [float(f"{p:.6g}") for p in points]

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choice": list(self.values)}
        out: dict[str, Any] = {self.kind: [self.low, self.high]}
        if self.steps is not None:
            out["steps"] = self.steps
        return out


@dataclass(frozen=True)
class EarlyStopping:
    """ASHA on the validation accuracy, reported once per epoch.

    ``grace_epochs`` None (the default) is a quarter of the longest trial's epochs: with the
    recipe's warm-up and cosine decay, the first epochs say more about a trial's learning
    rate than about where it ends, so a trial is never judged before that.
    """

    grace_epochs: int | None = None
    reduction_factor: int = 3

    def grace_for(self, max_epochs: int) -> int:
        """The epochs every trial runs before ASHA may stop it."""
        if self.grace_epochs is not None:
            return self.grace_epochs
        return max(1, round(max_epochs / 4))


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep; build it with :meth:`from_dict` / :meth:`from_json`."""

    base: dict[str, Any]
    space: tuple[Param, ...]
    name: str = "sweep"
    search: str = "random"
    trials: int | None = None
    minutes: float | None = None
    early_stopping: EarlyStopping | None = field(default_factory=EarlyStopping)
    seeds: tuple[int, ...] = (1, 2, 3)
    finalists: int = 1
    concurrency: int | None = None
    search_seed: int = 0
    variant: str = "as_is"

    @property
    def base_config(self) -> RunConfig:
        return RunConfig.from_dict(self.base)

    @property
    def is_baseline(self) -> bool:
        return self.variant in ("logistic", "mlp")

    @property
    def max_epochs(self) -> int:
        """The most epochs any trial can train (ASHA's horizon)."""
        if self.is_baseline:
            return 1
        epochs = [p for p in self.space if p.key == "train.epochs"]
        if not epochs:
            return self.base_config.train.epochs
        p = epochs[0]
        return int(max(p.values) if p.kind == "choice" else p.high)  # type: ignore[arg-type]

    def grid_size(self) -> int:
        return math.prod(len(p.grid()) for p in self.space) if self.space else 1

    def n_trials(self) -> int | None:
        """How many trials the search will run (None: until the time budget ends)."""
        if self.search == "grid":
            return self.grid_size()
        return self.trials

    def grid_points(self) -> list[dict[str, Any]]:
        """Every point of the grid, in order."""
        keys = [p.key for p in self.space]
        return [dict(zip(keys, combo)) for combo in itertools.product(*(p.grid() for p in self.space))]

    def config_for(self, params: Mapping[str, Any]) -> RunConfig:
        """The run configuration of one trial (raises ConfigError for an impossible mix)."""
        return RunConfig.from_dict(apply_params(self.base, params))

    def baseline_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The baseline's settings: defaults overridden by ``baseline.*`` parameters."""
        out = dict(BASELINE_FIELDS[self.variant])
        out.update({k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("baseline.")})
        return out

    def to_dict(self) -> dict[str, Any]:
        es: Any = False if self.early_stopping is None else dataclasses.asdict(self.early_stopping)
        return {"name": self.name, "base": self.base, "space": {p.key: p.to_dict() for p in self.space},
                "search": self.search, "trials": self.trials, "minutes": self.minutes,
                "early_stopping": es, "seeds": list(self.seeds), "finalists": self.finalists,
                "concurrency": self.concurrency,
                "search_seed": self.search_seed, "variant": self.variant}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def replace(self, **changes: Any) -> "SweepSpec":
        """A copy with some fields changed, validated again."""
        return SweepSpec.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SweepSpec":
        return _parse(data)

    @classmethod
    def from_json(cls, path: str | Path) -> "SweepSpec":
        """Read a sweep specification from a JSON file."""
        return _parse(read_json_file(path, "sweep file"))


def apply_params(base: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (a RunConfig dict) with each dotted key of ``params`` set; baseline keys skipped."""
    out = {section: dict(values) for section, values in base.items()}
    for key, value in params.items():
        section, name = key.split(".", 1)
        if section != "baseline":
            out.setdefault(section, {})[name] = value
    return out


def _number(key: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"space '{key}': range bounds must be numbers, got {value!r}.")
    return value


def _field_default(key: str, variant: str) -> Any:
    section, _, name = key.partition(".")
    if section == "baseline":
        if variant not in BASELINE_FIELDS:
            raise ConfigError(f"space '{key}': baseline.* keys need variant 'logistic' or 'mlp'.")
        if name not in BASELINE_FIELDS[variant]:
            raise ConfigError(f"space '{key}' is not a setting of the {variant} baseline; choose "
                              f"from: {', '.join('baseline.' + k for k in BASELINE_FIELDS[variant])}.")
        return BASELINE_FIELDS[variant][name]
    sections = {f.name: f.type for f in dataclasses.fields(RunConfig)}
    defaults = RunConfig()
    if section not in sections or not name:
        raise ConfigError(f"space key '{key}' must be 'section.field' with section one of: "
                          f"{', '.join(sections)} (or baseline).")
    sub = getattr(defaults, section)
    allowed = [f.name for f in dataclasses.fields(sub)]
    if name not in allowed:
        raise ConfigError(f"space key '{key}' is not a field of '{section}'; allowed: "
                          f"{', '.join(allowed)}.")
    return getattr(sub, name)


def _parse_param(key: str, raw: Any, base: dict[str, Any], variant: str) -> Param:
    if not isinstance(key, str) or "." not in key:
        raise ConfigError(f"space key {key!r} must be a dotted config key such as 'train.lr'.")
    default = _field_default(key, variant)
    if isinstance(raw, list):
        raw = {"choice": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"space '{key}' must be a list of values or an object with one of: "
                          f"{', '.join(KINDS)}.")
    kinds = [k for k in raw if k in KINDS]
    extra = sorted(set(raw) - set(KINDS) - {"steps"})
    if len(kinds) != 1 or extra:
        raise ConfigError(f"space '{key}' must have exactly one of {', '.join(KINDS)} "
                          f"(and optionally steps), got: {', '.join(sorted(raw)) or 'nothing'}.")
    kind = kinds[0]
    steps = raw.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"space '{key}': steps must be a whole number of at least 1, got {steps!r}.")
    if kind == "choice":
        values = raw["choice"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"space '{key}': choice needs a non-empty list of values.")
        values = [tuple(v) if isinstance(v, list) else v for v in values]
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"space '{key}': choice lists a value twice.")
        param = Param(key, "choice", values=tuple(values))
    else:
        bounds = raw[kind]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ConfigError(f"space '{key}': {kind} needs [low, high].")
        low, high = (_number(key, b) for b in bounds)
        if not low < high:
            raise ConfigError(f"space '{key}': {kind} needs low < high, got [{low}, {high}].")
        if kind == "log_range" and low <= 0:
            raise ConfigError(f"space '{key}': log_range needs positive bounds, got [{low}, {high}].")
        integer = isinstance(default, int) and not isinstance(default, bool)
        if integer and not (isinstance(low, int) and isinstance(high, int)):
            raise ConfigError(f"space '{key}' takes whole numbers; give whole-number bounds.")
        if not integer and not isinstance(default, float) and key.split(".")[0] != "baseline":
            raise ConfigError(f"space '{key}' is not numeric; use a choice list instead.")
        param = Param(key, kind, low=low, high=high, integer=integer, steps=steps)
    if key.split(".")[0] != "baseline":  # every value must be a valid config on the base
        for value in (param.values if kind == "choice" else (param.low, param.high)):
            try:
                RunConfig.from_dict(apply_params(base, {key: value}))
            except ConfigError as exc:
                raise ConfigError(f"space '{key}' value {value!r} does not work with the base "
                                  f"configuration: {exc}") from None
    return param


def _positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be a whole number of at least {low}, got {value!r}.")
    return value


def _parse(data: Mapping[str, Any]) -> SweepSpec:
    if not isinstance(data, Mapping):
        raise ConfigError("A sweep specification must be a JSON object.")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"Unknown key(s) in the sweep: {', '.join(unknown)}; allowed: "
                          f"{', '.join(SPEC_KEYS)}.")
    if "base" not in data or "space" not in data:
        raise ConfigError("A sweep needs 'base' (a run configuration) and 'space' (what to vary).")
    base_cfg = RunConfig.from_dict(data["base"])  # raises ConfigError on a bad base
    base = base_cfg.to_dict()
    if base_cfg.data.val_fraction <= 0:
        raise ConfigError("Sweeps select on the validation split; set data.val_fraction above 0.")
    variant = data.get("variant", "as_is")
    if variant not in VARIANTS:
        raise ConfigError(f"variant={variant!r} is not supported; choose one of: {', '.join(VARIANTS)}.")
    space_raw = data["space"]
    if not isinstance(space_raw, Mapping):
        raise ConfigError("'space' must be an object from config keys to values or ranges.")
    space = tuple(_parse_param(k, v, base, variant) for k, v in space_raw.items())
    search = data.get("search", "random")
    if search not in SEARCHES:
        raise ConfigError(f"search={search!r} is not supported; choose one of: {', '.join(SEARCHES)}.")
    trials = data.get("trials")
    if trials is not None:
        _positive_int("trials", trials)
    minutes = data.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                or not 0 < minutes <= 7 * 24 * 60):
        raise ConfigError(f"minutes must be a positive number (at most a week), got {minutes!r}.")
    if search != "grid" and trials is None and minutes is None:
        raise ConfigError(f"A {search} search needs a budget: set trials, minutes or both.")
    es_raw = data.get("early_stopping", True)
    if es_raw is True:
        early: EarlyStopping | None = EarlyStopping()
    elif es_raw is False or es_raw is None:
        early = None
    elif isinstance(es_raw, Mapping):
        bad = sorted(set(es_raw) - {"grace_epochs", "reduction_factor"})
        if bad:
            raise ConfigError(f"Unknown key(s) in early_stopping: {', '.join(bad)}; allowed: "
                              "grace_epochs, reduction_factor.")
        grace = es_raw.get("grace_epochs")
        early = EarlyStopping(None if grace is None
                              else _positive_int("early_stopping.grace_epochs", grace),
                              _positive_int("early_stopping.reduction_factor",
                                            es_raw.get("reduction_factor", 3), 2))
    else:
        raise ConfigError("early_stopping must be true, false or {grace_epochs, reduction_factor}.")
    seeds = data.get("seeds", [1, 2, 3])
    if not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError("seeds must be a non-empty list of distinct whole numbers, e.g. [1, 2, 3].")
    for s in seeds:
        _positive_int("each seed", s, 0)
    concurrency = data.get("concurrency")
    if concurrency is not None:
        _positive_int("concurrency", concurrency)
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("name must be a non-empty string.")
    spec = SweepSpec(base=base, space=space, name=name, search=search, trials=trials,
                     minutes=float(minutes) if minutes is not None else None,
                     early_stopping=early, seeds=tuple(seeds),
                     finalists=_positive_int("finalists", data.get("finalists", 1)),
                     concurrency=concurrency,
                     search_seed=_positive_int("search_seed", data.get("search_seed", 0), 0),
                     variant=variant)
    if search == "grid":
        size = spec.grid_size()
        if size > MAX_GRID:
            raise ConfigError(f"The grid has {size} points (limit {MAX_GRID}); use random or bayes.")
        if trials is not None and trials != size:
            raise ConfigError(f"A grid search runs every one of its {size} points; drop 'trials' "
                              f"or set it to {size}.")
    if search == "bayes" and not space:
        raise ConfigError("A bayes search needs at least one parameter in 'space'.")
    return spec
