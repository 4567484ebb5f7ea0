"""The studio's pages: one registry, so links never point at a page that is not there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageSpec:
    """A page file, its title and icon, and what it is for (shown as a workflow step)."""

    file: str
    title: str
    icon: str
    purpose: str

    @property
    def path(self) -> str:
        """The page path relative to app.py, as st.Page / st.page_link take it."""
        return f"views/{self.file}"

    @property
    def exists(self) -> bool:
        """Whether the page file is present."""
        return (ROOT / self.path).is_file()


PAGES = (
    PageSpec("home.py", "Home", ":material/home:", "Start here"),
    PageSpec("data.py", "Data", ":material/image:", "Pick a dataset and classes"),
    PageSpec("circuit.py", "Circuit", ":material/memory:", "Design the quantum circuit"),
    PageSpec("train.py", "Train", ":material/model_training:", "Train the hybrid network live"),
    PageSpec("classify.py", "Classify", ":material/draw:", "Draw a digit and classify it"),
    PageSpec("experiments.py", "Experiments", ":material/science:", "Compare and reuse runs"),
    PageSpec("sweep.py", "Sweep", ":material/tune:", "Search configurations on Ray"),
    PageSpec("hardware.py", "Hardware", ":material/developer_board:", "Run on IBM devices"),
)
WORKFLOW = ("data.py", "circuit.py", "train.py", "classify.py")


def spec(file: str) -> PageSpec:
    """The registry entry of a page file name such as ``"classify.py"``."""
    return next(p for p in PAGES if p.file == file)


def available_pages() -> list[st.Page]:
    """``st.Page`` objects for the page files that exist (Home is the default)."""
    return [st.Page(p.path, title=p.title, icon=p.icon, default=p.file == "home.py")
            for p in PAGES if p.exists]


def workflow_steps() -> list[PageSpec]:
    """The guided workflow (data, circuit, train, classify), as far as those pages exist."""
    return [spec(f) for f in WORKFLOW if spec(f).exists]


def page_link(file: str, *, label: str | None = None, **kwargs) -> None:
    """``st.page_link`` to a page if its file exists; a disabled caption otherwise."""
    page = spec(file)
    text = label or page.title
    if page.exists:
        st.page_link(page.path, label=text, icon=page.icon, **kwargs)
    else:
        st.caption(f"{text} (not available in this build)")


def switch_to(file: str) -> None:
    """Go to a page if its file exists (``st.switch_page``); otherwise say it is missing."""
    page = spec(file)
    if not page.exists:
        st.warning(f"The {page.title} page is not available in this build.")
        return
    st.switch_page(page.path)

