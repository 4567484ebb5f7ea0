"""Fragments that follow a background job: they poll while it runs, and its end reruns the page.

This module owns the transition "the job ended → the whole page runs once more" for every
screen. A fragment made by ``job_fragment`` re-runs every ``every`` seconds while ``active()``;
the first of its re-runs that finds the job ended reruns the whole page instead, and that run
draws the same body in a fragment of another identity that does not poll.

The second identity is what makes the end reliable. The browser keeps firing a fragment's
timer until the page's next full run reaches it, so polls sent just before still arrive after
that run. In Streamlit 1.67, a fragment rerun that reaches the server after a run's script
thread has finished, but before the event loop has passed on all of that run's output, starts a
new script runner, and the output the old runner had not yet handed over is dropped
(``AppSession`` ignores events from a runner that is no longer current). The end of the page,
its results, never reached the browser and nothing drew it again. A late poll now names a
fragment the session no longer holds, and Streamlit discards it before it can start a runner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def job_fragment(body: Callable[..., None], *args: Any, active: Callable[[], bool],
                 every: float) -> None:
    """Draw ``body(*args)`` in a fragment that re-runs every ``every`` s while ``active()``."""
    if active():
        def polling(*fragment_args: Any) -> None:
            if not active():
                st.rerun()  # the whole page once more: polling stops, the page shows the end
            body(*fragment_args)
        st.fragment(_named(polling, body, "polling"), run_every=every)(*args)
    else:
        def settled(*fragment_args: Any) -> None:
            body(*fragment_args)
        st.fragment(_named(settled, body, "settled"))(*args)


def _named(func: Callable[..., None], body: Callable[..., None], role: str
           ) -> Callable[..., None]:
    """``func`` named after ``body``: Streamlit derives a fragment's identity from the name."""
    func.__module__, func.__qualname__ = body.__module__, f"{body.__qualname__}[{role}]"
    return func
