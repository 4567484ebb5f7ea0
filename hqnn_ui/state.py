"""Session state of the studio: the current run configuration, shared keys, the URL.

The training job is not kept here: ``hqnn_ui.session`` finds it in the process-wide
``JobRegistry`` (hqnn_core.studio.jobs), the one place that holds job state.

Every page reads the configuration with ``current_config()`` and changes it only with
``set_config(cfg)``. The configuration travels in the URL as flat ``section.field``
query parameters holding only the fields that differ from the defaults.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any, Mapping
from urllib.parse import urlencode

import streamlit as st

from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError

log = logging.getLogger(__name__)

CONFIG_KEY = "hqnn_config"
URL_LOADED_KEY = "hqnn_url_loaded"
PRESENTATION_KEY = "presentation_mode"
SELECTED_RUN_KEY = "selected_run"
LAST_DRAWING_KEY = "last_drawing"

_SECTIONS = ("data", "circuit", "model", "train")


def current_config() -> RunConfig:
    """The session's run configuration (the digits defaults until something changes it)."""
    if CONFIG_KEY not in st.session_state:
        st.session_state[CONFIG_KEY] = RunConfig()
    return st.session_state[CONFIG_KEY]


def set_config(cfg: RunConfig) -> None:
    """Replace the session's run configuration."""
    st.session_state[CONFIG_KEY] = cfg


def presentation_mode() -> bool:
    """Whether the studio is in presentation mode (big type, guided steps)."""
    return bool(st.session_state.get(PRESENTATION_KEY, False))


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return json.dumps(value)


def _decode(key: str, raw: str, default: Any, is_tuple: bool) -> Any:
    if is_tuple:
        if raw in ("", "none", "null"):
            return None
        try:
            return tuple(int(v) for v in raw.split(","))
        except ValueError:
            raise HqnnError(f"{key} must be whole numbers separated by commas") from None
    if isinstance(default, str):
        return raw
    if raw in ("none", "null"):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def config_to_query(cfg: RunConfig) -> dict[str, str]:
    """The configuration as flat ``{"circuit.n_qubits": "6", ...}`` URL parameters.

    Only fields that differ from ``RunConfig()`` are included, so the default is ``{}``.
    """
    default = RunConfig()
    out: dict[str, str] = {}
    for section in _SECTIONS:
        ours, theirs = getattr(cfg, section), getattr(default, section)
        for f in dataclasses.fields(ours):
            value = getattr(ours, f.name)
            if value != getattr(theirs, f.name):
                out[f"{section}.{f.name}"] = _encode(value)
    return out


def config_from_query(params: Mapping[str, str]) -> RunConfig | None:
    """The configuration described by URL parameters, or None if they describe none.

    Parameters that are not ``section.field`` are ignored. A parameter that cannot be
    read shows one warning sentence and the defaults are kept (returns None).
    """
    default = RunConfig()
    sections: dict[str, dict[str, Any]] = {}
    try:
        for key, raw in params.items():
            section, _, name = key.partition(".")
            if section not in _SECTIONS or not name:
                continue
            fields = {f.name: f for f in dataclasses.fields(getattr(default, section))}
            if name not in fields:
                raise HqnnError(f"the link names an unknown setting '{key}'")
            is_tuple = "tuple" in str(fields[name].type)
            value = _decode(key, str(raw), getattr(getattr(default, section), name), is_tuple)
            sections.setdefault(section, {})[name] = value
        if not sections:
            return None
        return RunConfig.from_dict(sections)
    except HqnnError as exc:
        log.info("ignoring configuration link: %s", exc)
        st.warning(f"The configuration in this link could not be used ({str(exc).rstrip('.')}); "
                   "the default configuration is shown instead.")
        return None


def load_config_from_url_once() -> None:
    """At session start, adopt the configuration in the URL's query parameters (if any)."""
    if st.session_state.get(URL_LOADED_KEY):
        return
    st.session_state[URL_LOADED_KEY] = True
    cfg = config_from_query(st.query_params.to_dict())
    if cfg is not None:
        set_config(cfg)


def share_link(cfg: RunConfig) -> str:
    """An absolute link to the studio with ``cfg`` in its query string."""
    base = (st.context.url or "").split("?", 1)[0]
    query = urlencode(config_to_query(cfg))
    return f"{base}?{query}" if query else base


def sync_query_params(cfg: RunConfig) -> None:
    """Keep the browser's URL describing ``cfg`` (other query parameters are left alone)."""
    wanted = config_to_query(cfg)
    params = st.query_params
    for key in list(params.keys()):
        if key.partition(".")[0] in _SECTIONS and key not in wanted:
            del params[key]
    for key, value in wanted.items():
        if params.get(key) != value:
            params[key] = value
