"""A drawing canvas for digits: white ink on black, with a Clear button and a test hook.

``drawing_input(key)`` returns the drawing as an RGBA ``(H, W, 4)`` uint8 array, or None
while nothing is drawn. Tests (``AppTest`` renders the canvas but never draws on it) put
an RGBA array in ``st.session_state[f"{key}__injected"]`` and get it back instead.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

SIDE = 280
STROKE_WIDTH = 18
INJECTED_SUFFIX = "__injected"


def _clear(key: str) -> None:
    """Clear the canvas by giving it a fresh widget key (and dropping any injected drawing)."""
    st.session_state[f"{key}__generation"] = st.session_state.get(f"{key}__generation", 0) + 1
    st.session_state.pop(f"{key}{INJECTED_SUFFIX}", None)


def drawing_input(key: str) -> np.ndarray | None:
    """The canvas and its Clear button; the drawing as RGBA ``(H, W, 4)`` uint8, or None."""
    generation = st.session_state.get(f"{key}__generation", 0)
    st.space("medium")  # room for the canvas's own toolbar, which floats above it
    result = st_canvas(stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF",
                       background_color="#000000", height=SIDE, width=SIDE,
                       drawing_mode="freedraw", return_image_data=True,
                       key=f"{key}_{generation}")
    st.button("Clear", icon=":material/ink_eraser:", key=f"{key}__clear",
              on_click=_clear, args=(key,))
    injected = st.session_state.get(f"{key}{INJECTED_SUFFIX}")
    if isinstance(injected, np.ndarray) and injected.ndim == 3 and injected.shape[2] == 4:
        return injected.astype(np.uint8, copy=False)
    image = result.image_data
    if image is None or not _has_ink(image, result.json_data):
        return None
    return np.asarray(image, dtype=np.uint8)


def _has_ink(image: np.ndarray, json_data: dict | None) -> bool:
    """True when at least one stroke was drawn (an untouched canvas is all background)."""
    if json_data is not None and not json_data.get("objects"):
        return False
    return bool(image[..., :3].max() > 0)
