"""Presentation mode for live demos: larger type, the workflow as guided steps, a big
"Draw a digit" shortcut, and the sidebar tucked away. On Classify the predicted class (the
``prediction`` container) is the biggest thing on the screen."""

from __future__ import annotations

import streamlit as st

from hqnn_ui import navigation, state

_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2.6rem; }
[data-testid="stMainBlockContainer"] p,
[data-testid="stMainBlockContainer"] li,
[data-testid="stMainBlockContainer"] label { font-size: 1.15rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 3rem; }
.st-key-prediction [data-testid="stMetricValue"],
.st-key-prediction [data-testid="stMetricValue"] * { font-size: 11rem; line-height: 1; }
.st-key-prediction [data-testid="stMetricLabel"] * { font-size: 1.6rem; }
</style>
"""


def sidebar_state() -> str:
    """How the sidebar starts: collapsed in presentation mode, expanded otherwise."""
    return "collapsed" if state.presentation_mode() else "expanded"


def _leave() -> None:
    st.session_state[state.PRESENTATION_KEY] = False


def render_banner() -> None:
    """In presentation mode: bigger type and the guided steps above the page."""
    if not state.presentation_mode():
        return
    st.html(_CSS)
    steps = navigation.workflow_steps()
    columns = st.columns(len(steps) + 2, vertical_alignment="center")
    for number, (column, page) in enumerate(zip(columns, steps), start=1):
        with column:
            navigation.page_link(page.file, label=f"{number}. {page.title}", help=page.purpose)
    with columns[-2]:
        if navigation.spec("classify.py").exists and st.button(
                "Draw a digit", icon=":material/draw:", type="primary", width="stretch",
                key="presentation_draw"):
            navigation.switch_to("classify.py")
    with columns[-1]:
        st.button("Exit", icon=":material/close:", on_click=_leave, help="Leave presentation mode",
                  key="presentation_leave", width="stretch")
    st.divider()
