"""The Experiments page's services: people's names and tags for runs, chart labels that
tell runs apart, and a reproduce command that works from any folder.

Names and tags live in the run's ``tags.json`` (the same file and index column a sweep's
trials use): ``tags["name"]`` is the name a person gave, ``tags["tags"]`` their comma-
separated tags; other keys (``sweep``, ``trial``) are kept as they are.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections import Counter
from pathlib import Path
from typing import Sequence

from hqnn_core.config import RunConfig
from hqnn_core.data.sources import resolve_root
from hqnn_core.errors import RunError
from hqnn_core.learning.runs import RunInfo, RunStore

NAME, TAGS = "name", "tags"
MAX_NAME = 60


def display_name(run: RunInfo) -> str:
    """The name a person gave the run, else the one its folder was created with."""
    return run.tags.get(NAME) or run.name


def person_tags(run: RunInfo) -> list[str]:
    """The run's tags as a person typed them, plus its sweep when it is a sweep's trial."""
    words = [t.strip() for t in run.tags.get(TAGS, "").split(",") if t.strip()]
    return words + ([f"sweep {run.sweep}"] if run.sweep else [])


def chart_labels(runs: Sequence[RunInfo]) -> list[str]:
    """One label per run; runs sharing a name get their folder's short id added."""
    names = [display_name(r) for r in runs]
    repeated = {n for n, count in Counter(names).items() if count > 1}
    return [f"{n} · {_short_id(r)}" if n in repeated else n for n, r in zip(names, runs)]


def _short_id(run: RunInfo) -> str:
    parts = run.id.split("-")
    return parts[1] if len(parts) >= 3 else run.id[-8:]


def rename(store: RunStore, run: RunInfo, name: str, tags: str) -> RunInfo:
    """Give ``run`` a name and comma-separated tags (empty clears them); its new index row."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise RunError(f"A run name has at most {MAX_NAME} characters; this one has "
                       f"{len(name)}.")
    words = ", ".join(t.strip() for t in tags.split(",") if t.strip())
    kept = {k: v for k, v in run.tags.items() if k not in (NAME, TAGS)}
    kept.update({k: v for k, v in ((NAME, name), (TAGS, words)) if v})
    return store.set_tags(run.id, kept)


def portable_config(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its data root made absolute, so it trains the same from any folder."""
    if cfg.data.name == "digits":
        return cfg  # scikit-learn ships the digits; no folder is read
    root = str(resolve_root(cfg.data.root))
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=root))


def reproduce_command(run: RunInfo, store: RunStore, config_file: str = "config.json") -> str:
    """``hqnn train`` of the downloaded config into a new folder beside the run (absolute)."""
    out = Path(store.root).resolve() / f"{run.id}-again"
    return f"hqnn train {shlex.quote(config_file)} --out {shlex.quote(str(out))}"
