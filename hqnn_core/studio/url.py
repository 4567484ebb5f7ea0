"""A run configuration as flat URL query parameters, and back.

The link holds only the fields that differ from ``RunConfig()``, as ``section.field``
keys (``circuit.n_qubits=6``, ``data.classes=0,3,7``). Each value is read by the type the
dataclass field declares — ``str | None``, ``int``, ``float``, ``bool`` or
``tuple[int, ...] | None`` — so ``data.root=123`` stays the folder name ``"123"``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import lru_cache
from typing import Any, Mapping

from hqnn_core.config import RunConfig
from hqnn_core.errors import ConfigError

SECTIONS = ("data", "circuit", "model", "train")
_NONE = ("none", "null")


def is_config_key(key: str) -> bool:
    """Whether a query parameter is a ``section.field`` key of the configuration."""
    return key.partition(".")[0] in SECTIONS


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return json.dumps(value)  # numbers, booleans ("true"/"false") and None ("null")


def config_to_query(cfg: RunConfig) -> dict[str, str]:
    """The configuration as flat ``{"circuit.n_qubits": "6", ...}`` URL parameters.

    Only fields that differ from ``RunConfig()`` are included, so the default is ``{}``.
    """
    default = RunConfig()
    out: dict[str, str] = {}
    for section in SECTIONS:
        ours, theirs = getattr(cfg, section), getattr(default, section)
        for f in dataclasses.fields(ours):
            value = getattr(ours, f.name)
            if value != getattr(theirs, f.name):
                out[f"{section}.{f.name}"] = _encode(value)
    return out


@lru_cache(maxsize=None)
def _field_types(section: str) -> dict[str, Any]:
    """The declared (resolved) type of every field of a configuration section."""
    return typing.get_type_hints(type(getattr(RunConfig(), section)))


def _split_optional(kind: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); ``X`` -> (X, False)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(options) != len(typing.get_args(kind)) and len(options) == 1:
            return options[0], True
    return kind, False


def _decode(key: str, raw: str, kind: Any) -> Any:
    """One query value read as the field's declared type ``kind``."""
    kind, optional = _split_optional(kind)
    if optional and raw.strip().lower() in _NONE + ("",):
        return None
    if kind is str:
        return raw
    if kind is bool:
        if raw.strip().lower() not in ("true", "false"):
            raise ConfigError(f"{key} must be true or false, got {raw!r}.")
        return raw.strip().lower() == "true"
    if kind is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{key} must be a whole number, got {raw!r}.") from None
    if kind is float:
        try:
            return float(raw.strip())
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {raw!r}.") from None
    if typing.get_origin(kind) is tuple and typing.get_args(kind)[:1] == (int,):
        try:
            return tuple(int(v) for v in raw.split(","))
        except ValueError:
            raise ConfigError(f"{key} must be whole numbers separated by commas, "
                              f"got {raw!r}.") from None
    raise ConfigError(f"{key} cannot be set from a link.")


def query_to_config(params: Mapping[str, str]) -> RunConfig | None:
    """The configuration described by URL parameters, or None if they describe none.

    Parameters that are not ``section.field`` are ignored; an unknown field or a value that
    cannot be read raises ``ConfigError`` with one sentence.
    """
    sections: dict[str, dict[str, Any]] = {}
    for key, raw in params.items():
        section, _, name = key.partition(".")
        if section not in SECTIONS or not name:
            continue
        kinds = _field_types(section)
        if name not in kinds:
            raise ConfigError(f"the link names an unknown setting '{key}'.")
        sections.setdefault(section, {})[name] = _decode(key, str(raw), kinds[name])
    if not sections:
        return None
    return RunConfig.from_dict(sections)
