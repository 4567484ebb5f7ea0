"""Session state of the studio: the current run configuration, shared keys, the URL.

The training job is not kept here: ``hqnn_ui.session`` finds it in the process-wide
``JobRegistry`` (hqnn_core.studio.jobs), the one place that holds job state.

Every page reads the configuration with ``current_config()`` and changes it only with
``set_config(cfg)``. The configuration travels in the URL as flat ``section.field``
query parameters holding only the fields that differ from the defaults.
"""

from __future__ import annotations

import logging
from typing import Mapping
from urllib.parse import urlencode

import streamlit as st

from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio.url import config_to_query, is_config_key, query_to_config

log = logging.getLogger(__name__)

CONFIG_KEY = "hqnn_config"
URL_LOADED_KEY = "hqnn_url_loaded"
PRESENTATION_KEY = "presentation_mode"
SELECTED_RUN_KEY = "selected_run"
LAST_DRAWING_KEY = "last_drawing"


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


def config_from_query(params: Mapping[str, str]) -> RunConfig | None:
    """The configuration described by URL parameters, or None if they describe none.

    Parameters that are not ``section.field`` are ignored. A parameter that cannot be
    read shows one warning sentence and the defaults are kept (returns None). The codec
    itself is ``hqnn_core.studio.url``.
    """
    try:
        return query_to_config(params)
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
        if is_config_key(key) and key not in wanted:
            del params[key]
    for key, value in wanted.items():
        if params.get(key) != value:
            params[key] = value
