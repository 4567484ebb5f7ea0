"""hqnn_ui.polling: a job's fragment polls under one identity and, after the end, has another."""

from __future__ import annotations

import pytest
import streamlit as st

from hqnn_ui import polling


class Rerun(Exception):
    """Stands in for Streamlit's rerun of the whole page."""


@pytest.fixture()
def fragments(monkeypatch) -> list:
    """Each fragment ``job_fragment`` makes: (its function, run_every); it runs once at once."""
    made = []

    def fragment(func, *, run_every=None):  # type: ignore[no-untyped-def]
        made.append((func, run_every))
        return func

    def rerun(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise Rerun()

    monkeypatch.setattr(st, "fragment", fragment)
    monkeypatch.setattr(st, "rerun", rerun)
    return made


def test_a_job_fragment_polls_until_the_end_then_reruns_the_page(fragments) -> None:
    drawn, job = [], {"active": True}

    def body(label: str) -> None:
        drawn.append((label, job["active"]))

    polling.job_fragment(body, "status", active=lambda: job["active"], every=1.5)
    (polled, every), = fragments
    assert every == 1.5 and drawn == [("status", True)]
    polled("status")  # a poll while it runs redraws the body
    assert drawn[-1] == ("status", True)
    job["active"] = False
    with pytest.raises(Rerun):  # the first poll after the end reruns the page instead
        polled("status")
    assert len(drawn) == 2

    polling.job_fragment(body, "status", active=lambda: job["active"], every=1.5)
    settled, every = fragments[-1]
    assert every is None and drawn[-1] == ("status", False)
    settled("status")  # a click in the settled fragment redraws it, without a page rerun
    assert drawn[-1] == ("status", False)


def test_the_settled_fragment_is_not_the_one_that_polled(fragments) -> None:
    """Streamlit names a fragment after its function's module and qualified name (and its
    place on the page): a poll sent before the end then names a fragment the page no longer
    has, and is discarded instead of starting a script runner that drops the end's output."""
    job = {"active": True}
    polling.job_fragment(len, [], active=lambda: job["active"], every=1.0)
    job["active"] = False
    polling.job_fragment(len, [], active=lambda: job["active"], every=1.0)
    (polled, _), (settled, _) = fragments
    assert polled.__module__ == settled.__module__ == len.__module__
    assert polled.__qualname__ != settled.__qualname__
    assert {polled.__qualname__, settled.__qualname__} == {"len[polling]", "len[settled]"}
