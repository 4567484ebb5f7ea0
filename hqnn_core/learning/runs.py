"""The run store: run folders on disk, a SQLite index to list them, and ``load_run``.

A run folder holds ``config.json`` (everything needed to rebuild the run),
``metrics.json`` (status, test accuracy, train seconds, history, confusion matrix),
``model.safetensors``, while it can be resumed, ``checkpoint.safetensors``, and
optionally ``tags.json`` (string tags, e.g. ``{"sweep": id}`` for a sweep's trials). The
folders are the truth; ``root/index.sqlite`` is a cache of their summaries that is
rebuilt from the folders whenever it is missing or corrupt.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from hqnn_core.learning.checkpoint import (CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE,
                                           load_weights, read_json)
from hqnn_core.config import RunConfig, read_json_file
from hqnn_core.errors import ConfigError, RunError
from hqnn_core.learning.model import Classifier, build_model

log = logging.getLogger(__name__)
# One index rebuild at a time in this process: a rebuild starts by deleting the file, so two
# threads creating the first runs of a fresh folder at once (a model and its twin, or two
# sessions) deleted each other's new index ("attempt to write a readonly database").
_REBUILDING = threading.RLock()

INDEX_FILE = "index.sqlite"
TAGS_FILE = "tags.json"
TERMINAL = ("completed", "stopped", "failed")
_COLUMNS = ("id", "name", "path", "created", "dataset", "kind", "encoding", "n_qubits",
            "status", "test_accuracy", "train_seconds", "sweep", "tags")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, name TEXT, path TEXT, "
    "created REAL, dataset TEXT, kind TEXT, encoding TEXT, n_qubits INTEGER, status TEXT, "
    "test_accuracy REAL, train_seconds REAL, sweep TEXT, tags TEXT)"
)
#: Columns added after the first release; older index files get them by ALTER TABLE.
_ADDED_COLUMNS = {"sweep": "TEXT", "tags": "TEXT"}


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns an index file written by an older hqnn lacks."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for column, kind in _ADDED_COLUMNS.items():
        if column not in have:
            try:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it just now
                if "duplicate column" not in str(exc):
                    raise
    conn.commit()


def read_tags(run_dir: str | Path) -> dict[str, str]:
    """The run's ``tags.json`` as a dict (empty when the run has none)."""
    path = Path(run_dir) / TAGS_FILE
    if not path.is_file():
        return {}
    tags = read_json(path)
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def default_runs_root() -> Path:
    """``HQNN_RUNS_DIR`` if set, else ``./runs``."""
    return Path(os.environ.get("HQNN_RUNS_DIR", "runs"))


@dataclass(frozen=True)
class RunInfo:
    """One row of the run index."""

    id: str
    name: str
    path: Path
    created: float
    dataset: str
    kind: str
    encoding: str
    n_qubits: int
    status: str
    test_accuracy: float | None
    train_seconds: float | None
    sweep: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def read_config_file(path: str | Path) -> RunConfig:
    """A configuration file: a run folder's own ``config.json`` (beside its checkpoint,
    weights or metrics) is a saved one (``RunConfig.from_saved``: keys it lacks get the values
    it was trained with); any other file is hand-written (``from_json``: today's defaults)."""
    path = Path(path)
    saved = path.name == CONFIG_FILE and any(
        (path.parent / name).is_file() for name in (CHECKPOINT_FILE, WEIGHTS_FILE, METRICS_FILE))
    if not saved:
        return RunConfig.from_json(path)
    return RunConfig.from_saved(read_json_file(path, "configuration file"))


def _summary(run_dir: Path, run_id: str, created: float | None = None) -> dict[str, Any]:
    cfg = RunConfig.from_saved(read_json(run_dir / CONFIG_FILE))
    metrics: dict[str, Any] = {}
    if (run_dir / METRICS_FILE).exists():
        metrics = read_json(run_dir / METRICS_FILE)
    name = run_id.split("-", 2)[-1] if run_id.count("-") >= 2 else run_id
    tags = read_tags(run_dir)
    return {
        "id": run_id, "name": name, "path": str(run_dir.resolve()),
        "created": created if created is not None else (run_dir / CONFIG_FILE).stat().st_mtime,
        "dataset": cfg.data.name, "kind": cfg.model.kind, "encoding": cfg.circuit.encoding,
        "n_qubits": cfg.circuit.n_qubits, "status": metrics.get("status", "created"),
        "test_accuracy": metrics.get("test_accuracy"), "train_seconds": metrics.get("train_seconds"),
        "sweep": tags.get("sweep"), "tags": json.dumps(tags, sort_keys=True) if tags else None,
    }


class RunStore:
    """Run folders under ``root`` (default :func:`default_runs_root`) with a SQLite index."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_runs_root()
        self.index_path = self.root / INDEX_FILE

    def _connect(self) -> sqlite3.Connection:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not self.index_path.exists():
                with _REBUILDING:
                    if not self.index_path.exists():
                        return self._rebuild_connection()
            conn = sqlite3.connect(self.index_path, timeout=10)
            conn.execute(_SCHEMA)
            _migrate(conn)
            conn.execute("SELECT count(*) FROM runs").fetchone()
            return conn
        except sqlite3.DatabaseError:
            log.warning("Run index %s is corrupt; rebuilding it from the run folders",
                        self.index_path)
            with _REBUILDING:
                return self._rebuild_connection()
        except OSError as exc:
            raise RunError(f"Cannot use the runs folder {self.root}: {exc.strerror}.") from exc

    def _rebuild_connection(self) -> sqlite3.Connection:
        self.index_path.unlink(missing_ok=True)
        conn = sqlite3.connect(self.index_path, timeout=10)
        conn.execute(_SCHEMA)
        for run_dir in sorted(p for p in self.root.iterdir() if (p / CONFIG_FILE).is_file()):
            self._upsert(conn, run_dir)
        conn.commit()
        return conn

    def rebuild(self) -> int:
        """Recreate the index from the run folders; returns how many runs it holds."""
        with _REBUILDING, closing(self._rebuild_connection()) as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

    def _sync(self, conn: sqlite3.Connection) -> None:
        """Bring the index up to the folders: unfinished runs re-read, vanished ones dropped,
        and folders the store did not create (``hqnn train --out runs/x``, copies) added."""
        known = dict(conn.execute("SELECT id, status FROM runs").fetchall())
        for run_id, status in known.items():
            if not (self.root / run_id / CONFIG_FILE).is_file():
                conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            elif status not in TERMINAL:
                self._upsert(conn, self.root / run_id)
        for run_dir in sorted(self.root.iterdir()):
            if run_dir.name not in known and (run_dir / CONFIG_FILE).is_file():
                self._upsert(conn, run_dir)
        conn.commit()

    def _upsert(self, conn: sqlite3.Connection, run_dir: Path,
                created: float | None = None) -> None:
        try:
            row = _summary(run_dir, run_dir.name, created)
        except (RunError, ConfigError) as exc:
            log.warning("Skipping run folder %s: %s", run_dir, exc)
            return
        conn.execute(f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES "
                     f"({', '.join('?' * len(_COLUMNS))})", [row[c] for c in _COLUMNS])

    def new_run_dir(self, cfg: RunConfig, name: str | None = None, *,
                    tags: dict[str, str] | None = None, run_id: str | None = None,
                    exist_ok: bool = False) -> Path:
        """Create an indexed run folder holding ``cfg``'s config.json; returns its path.

        ``tags`` are written to ``tags.json`` (a ``"sweep"`` tag fills the index's sweep
        column); ``run_id`` names the folder instead of a fresh timestamped id, and with
        ``exist_ok`` an existing folder of that id is reused (a resumed sweep trial).
        """
        from hqnn_core.learning.checkpoint import atomic_write_json

        label = re.sub(r"[^A-Za-z0-9_.]+", "_", name or f"{cfg.data.name}_{cfg.model.kind}")
        if run_id is None:
            run_id = f"{time.strftime('%Y%m%d_%H%M%S')}-{uuid.uuid4().hex[:6]}-{label[:40]}"
        elif re.fullmatch(r"[A-Za-z0-9_.-]{1,120}", run_id) is None:
            raise RunError(f"{run_id!r} is not a valid run id (letters, digits, _ . - only).")
        run_dir = self.root / run_id
        try:
            run_dir.mkdir(parents=True, exist_ok=exist_ok)
        except OSError as exc:
            raise RunError(f"Cannot create the run folder {run_dir}: {exc.strerror}.") from exc
        if not (exist_ok and (run_dir / CONFIG_FILE).exists()):
            atomic_write_json(run_dir / CONFIG_FILE, cfg.to_dict())
        if tags:
            atomic_write_json(run_dir / TAGS_FILE, {str(k): str(v) for k, v in tags.items()})
        with closing(self._connect()) as conn:
            self._upsert(conn, run_dir, created=time.time())
            conn.commit()
        return run_dir

    create = new_run_dir

    def refresh(self, run_id: str) -> RunInfo:
        """Re-read one run folder's files into the index and return its row."""
        with closing(self._connect()) as conn:
            self._upsert(conn, self.root / run_id)
            conn.commit()
        return self.get(run_id)

    def list(self, *, dataset: str | None = None, kind: str | None = None,
             status: str | None = None, sweep: str | None = None) -> list[RunInfo]:
        """Runs, newest first, optionally filtered; unfinished runs are re-read from disk."""
        with closing(self._connect()) as conn:
            self._sync(conn)
            where, args = [], []
            for column, value in (("dataset", dataset), ("kind", kind), ("status", status),
                                  ("sweep", sweep)):
                if value is not None:
                    where.append(f"{column} = ?")
                    args.append(value)
            sql = f"SELECT {', '.join(_COLUMNS)} FROM runs"
            if where:
                sql += " WHERE " + " AND ".join(where)
            rows = conn.execute(sql + " ORDER BY created DESC, id DESC", args).fetchall()
        return [_info(row) for row in rows]

    def get(self, run_id: str) -> RunInfo:
        """The index row of ``run_id``; RunError if there is none."""
        with closing(self._connect()) as conn:
            row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?",
                               (run_id,)).fetchone()
        if row is None:
            raise RunError(f"There is no run {run_id!r} in {self.root}; list the runs to pick one.")
        return _info(row)

    def delete(self, run_id: str) -> None:
        """Remove the run's folder and its index row."""
        run_dir = self.root / run_id
        if run_dir.resolve().parent != self.root.resolve():
            raise RunError(f"{run_id!r} is not a run folder of {self.root}.")
        shutil.rmtree(run_dir, ignore_errors=True)
        with closing(self._connect()) as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            conn.commit()

    def load(self, run_id: str) -> "LoadedRun":
        """``load_run`` of one run of this store."""
        return load_run(self.root / run_id)

    def set_tags(self, run_id: str, tags: dict[str, str]) -> RunInfo:
        """Replace the run's ``tags.json`` (no file when empty); returns its new index row."""
        from hqnn_core.learning.checkpoint import atomic_write_json

        run_dir = self.root / run_id
        if not (run_dir / CONFIG_FILE).is_file():
            raise RunError(f"There is no run {run_id!r} in {self.root}; list the runs to pick one.")
        if tags:
            atomic_write_json(run_dir / TAGS_FILE, {str(k): str(v) for k, v in tags.items()})
        else:
            (run_dir / TAGS_FILE).unlink(missing_ok=True)
        return self.refresh(run_id)


def _info(row: Sequence[Any]) -> RunInfo:
    values = dict(zip(_COLUMNS, row))
    values["path"] = Path(values["path"])
    values["tags"] = json.loads(values["tags"]) if values["tags"] else {}
    return RunInfo(**values)


@dataclass
class LoadedRun:
    """A trained run read back from its folder; the model is in eval mode."""

    path: Path
    config: RunConfig
    metrics: dict[str, Any]
    model: Classifier
    class_names: list[str]
    image_shape: tuple[int, int, int]

    @torch.no_grad()
    def predict_tensor(self, x: Tensor) -> np.ndarray:
        """Class probabilities ``(N, K)`` of images ``(N, C, H, W)`` in [0, 1]."""
        self.model.eval()
        return torch.softmax(self.model(x.to(torch.float32)), dim=1).numpy()

    def prepare(self, images: Sequence[Any]) -> Tensor:
        """Apply the model's image recipe (``prepare_image``) to PIL images -> ``(N, C, H, W)``."""
        from hqnn_core.data.images import prepare_image

        return torch.stack([prepare_image(img, image_shape=self.image_shape,
                                          style=self.model.preprocess_style) for img in images])

    def predict_images(self, images: Sequence[Any]) -> np.ndarray:
        """Class probabilities ``(N, K)`` of PIL images as a person supplies them."""
        if len(images) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        return self.predict_tensor(self.prepare(images))


def load_run(path: str | Path) -> LoadedRun:
    """Read a run folder: config, metrics and the trained model (never executes code)."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path} is not a run folder; pass a folder made by training.")
    try:
        cfg = RunConfig.from_saved(read_json(path / CONFIG_FILE))
    except ConfigError as exc:
        raise RunError(f"{path / CONFIG_FILE} is not a valid configuration: {exc}") from exc
    metrics = read_json(path / METRICS_FILE)
    try:
        class_names = [str(c) for c in metrics["class_names"]]
        image_shape = tuple(int(s) for s in metrics["image_shape"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"{path / METRICS_FILE} lacks class names or image shape; "
                       "train the run again.") from exc
    model = build_model(cfg, n_classes=len(class_names), image_shape=image_shape)
    load_weights(path / WEIGHTS_FILE, model)
    model.eval()
    return LoadedRun(path=path, config=cfg, metrics=metrics, model=model,
                     class_names=class_names, image_shape=image_shape)  # type: ignore[arg-type]
