"""``streamlit run`` whose event loop hands each script-runner event on ``LAG`` seconds late.

A loaded machine makes the server's event loop fall behind its script threads: a run has
finished while its output is still waiting on the loop. This launcher makes that lag fixed
and long (``python -m tests.e2e.lagging_loop LAG run app.py ...``) so a browser test meets,
every time, the order of events a busy 2-core machine produces now and then. Events keep
their order; the browser's messages are not delayed.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable

from streamlit.runtime.app_session import AppSession
from streamlit.web import cli


def lag_script_runner_events(seconds: float) -> None:
    """Deliver every ScriptRunner event to its session's event loop ``seconds`` late."""
    def call_soon(self: AppSession, callback: Callable[[], None]) -> None:
        queue = self.__dict__.setdefault("_lagged_events", collections.deque())
        loop = self._event_loop

        def deliver() -> None:
            while queue and queue[0][0] <= loop.time():
                queue.popleft()[1]()
            if queue:
                loop.call_at(queue[0][0], deliver)

        def arrive() -> None:
            queue.append((loop.time() + seconds, callback))
            if len(queue) == 1:
                loop.call_at(queue[0][0], deliver)

        try:
            loop.call_soon_threadsafe(arrive)
        except RuntimeError:  # the loop closed at shutdown, as AppSession itself allows
            if not loop.is_closed():
                raise

    if not hasattr(AppSession, "_call_soon_on_event_loop"):
        raise SystemExit("this Streamlit has no AppSession._call_soon_on_event_loop to delay")
    AppSession._call_soon_on_event_loop = call_soon  # type: ignore[method-assign]


if __name__ == "__main__":
    lag_script_runner_events(float(sys.argv[1]))
    sys.exit(cli.main(sys.argv[2:], prog_name="streamlit"))
