"""Run a sweep on Ray Tune: local by default, an existing Ray cluster with ``address=``.

    outcome = run_sweep(spec, "sweeps/digits", address=None, resume=False, callbacks=[...])

Embedded mode (no ``address`` and no ``RAY_ADDRESS``) starts a private Ray on this machine
(``ray.init(address="local")``: one trial per CPU core, no dashboard, quiet logs) and shuts it
down afterwards; with an address the same sweep is sent to that cluster (every node needs
hqnn installed and the sweep folder and run store on a filesystem all nodes see). An already
initialised Ray (``ray.is_initialized()``) is used as it is and left running.

The sweep folder holds ``sweep.json`` (id + spec), ``results.json``/``.csv`` (one row per
trial), ``final.json``/``.csv`` (the best configuration, or the top ``spec.finalists``, retrained
on ``spec.seeds``; with several finalists the best mean validation accuracy is chosen),
``progress.json`` and Ray's experiment folders ``ray/`` and ``ray-final/``. Ctrl-C (SIGINT to
the driver) ends Tune gracefully: finished trials stay, and ``resume=True`` restores the
experiment (``Tuner.restore``) and continues the interrupted trials from their checkpoints.
A trial whose worker dies is marked failed; the others go on.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from hqnn_core.errors import HqnnError, RunError
from hqnn_core.learning.checkpoint import atomic_write_json, read_json
from hqnn_core.sweeps.results import TrialRow, chosen, finalist_rows, finalist_scores
from hqnn_core.sweeps.spec import METRIC, SweepSpec
from hqnn_core.sweeps.tracker import SweepEvent, SweepTracker
from hqnn_core.sweeps.trial import ROLE_FINAL, ROLE_SEARCH, TrialContext, train_trial

log = logging.getLogger(__name__)

SWEEP_FILE = "sweep.json"
RAY_DIR, RAY_FINAL_DIR = "ray", "ray-final"
_TRACKERS: dict[str, SweepTracker] = {}
_CALLBACK_CLASS: type | None = None
QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
             "RAY_AIR_NEW_OUTPUT": "0", "RAY_DEDUP_LOGS": "1",
             "TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S": "0",
             "RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS": "0"}
for _key, _value in QUIET_ENV.items():  # read by Ray when it is imported or started
    os.environ.setdefault(_key, _value)


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` returns."""

    folder: Path
    sweep_id: str
    status: str  # completed | interrupted
    trials: list[TrialRow]
    best: TrialRow | None
    final: list[TrialRow]
    wall_seconds: float  # this call, search and retraining
    search_seconds: float = 0.0  # this call's search stage alone (the tuning budget spent)
    finalists: list[dict[str, Any]] = field(default_factory=list)  # finalist_scores, best first


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                temp_dir: str | None = None) -> Iterator[str]:
    """A Ray connection for one sweep; yields "embedded", "cluster" or "existing".

    ``temp_dir`` (default ``HQNN_RAY_TEMP_DIR``) is the embedded Ray's session folder root.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        _use_token_if_available()  # before Ray reads its configuration
    import ray

    for noisy in ("ray.tune.analysis.experiment_analysis",  # we keep our own results table
                  "ray._private.authentication.authentication_token_setup"):  # token auth on
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if ray.is_initialized():
        yield "existing"
        return
    quiet = {"include_dashboard": False, "log_to_driver": False,
             "logging_level": logging.WARNING, "configure_logging": True}
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            mode = "cluster"
        else:
            path = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p)
            temp_dir = temp_dir or os.environ.get("HQNN_RAY_TEMP_DIR") or None
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
                     object_store_memory=128 * 1024**2, _temp_dir=temp_dir,
                     runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}},
                     **quiet)
            mode = "embedded"
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise HqnnError(f"Could not start or reach {where}: {str(exc).splitlines()[0]}") from exc
    try:
        yield mode
    finally:
        ray.shutdown()


def _use_token_if_available() -> None:
    """Send Ray's auth token to a cluster when one is at hand, as ``ray start`` itself does.

    ``ray start`` turns token authentication on whenever a token exists (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``), but a driver given an explicit address
    only does so with ``RAY_AUTH_MODE=token``; an explicit ``RAY_AUTH_MODE`` is left alone.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    if (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
            or (Path.home() / ".ray" / "auth_token").is_file()):
        os.environ["RAY_AUTH_MODE"] = "token"
        if "ray" in sys.modules:  # Ray read its settings already: let it read them again
            try:
                from ray._private.authentication.authentication_token_setup import (
                    maybe_enable_token_auth_if_token_available)

                maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
            except ImportError:
                pass


def _prepare_folder(spec: SweepSpec, folder: Path, resume: bool) -> str:
    """Write (or check, when resuming) ``sweep.json``; returns the sweep id."""
    path = folder / SWEEP_FILE
    if path.exists():
        stored = read_json(path)
        if not resume:
            raise RunError(f"{folder} already holds a sweep; resume it with --resume or choose "
                           "another --out folder.")
        if SweepSpec.from_dict(stored["spec"]) != spec:
            raise RunError(f"{folder} holds a sweep with a different specification; resume it "
                           "with its own sweep.json or choose another --out folder.")
        return str(stored["id"])
    if resume:
        raise RunError(f"There is no sweep to resume in {folder}; run it without --resume first.")
    slug = "".join(c if c.isalnum() else "_" for c in spec.name)[:24]
    sweep_id = f"sw{time.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:4]}_{slug}"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"id": sweep_id, "created": time.time(), "spec": spec.to_dict()})
    return sweep_id


def _search_space(spec: SweepSpec) -> dict[str, Any]:
    from ray import tune

    if spec.search == "grid":
        return {"params": tune.grid_search(spec.grid_points())}
    space: dict[str, Any] = {}
    for p in spec.space:
        if p.kind == "choice":
            space[p.key] = tune.choice(list(p.values))
        elif p.integer:
            fn = tune.lograndint if p.kind == "log_range" else tune.randint
            space[p.key] = fn(int(p.low), int(p.high) + 1)  # type: ignore[arg-type]
        else:
            fn = tune.loguniform if p.kind == "log_range" else tune.uniform
            space[p.key] = fn(float(p.low), float(p.high))  # type: ignore[arg-type]
    return {"params": space}


def tune_callback(key: str, stage: str) -> Any:
    """A Tune callback feeding the tracker registered under ``key`` (ray imported lazily).

    Tune pickles its run configuration (callbacks included) for ``Tuner.restore``; the
    callback pickles as a call of this function and finds the live tracker again on restore.
    """
    global _CALLBACK_CLASS
    if _CALLBACK_CLASS is None:
        from ray.tune import Callback

        _CALLBACK_CLASS = type("SweepTuneCallback", (_TrackerCallback, Callback), {})
    return _CALLBACK_CLASS(key, stage)


class _TrackerCallback:
    """The callback's methods: Tune's driver events -> :class:`SweepTracker` rows."""

    def __init__(self, key: str, stage: str) -> None:
        self.key, self.stage = key, stage

    def __reduce__(self) -> tuple[Any, ...]:
        return (tune_callback, (self.key, self.stage))

    @property
    def tracker(self) -> SweepTracker:
        return _TRACKERS[self.key]

    def _finished(self, trial: Any) -> bool:
        """Whether this trial's row already holds its final result (kept as recorded).

        A restored sweep can start a trial again whose final report came just before a Stop;
        the trial then only reports its saved run again, and the row keeps its times.
        """
        row = self.tracker.get(trial.trial_id, self.stage)
        return row is not None and row.status in ("completed", "invalid")

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self._finished(trial):
            return
        cfg = trial.config
        self.tracker.update(trial.trial_id, self.stage, force=True, status="running",
                            params=dict(cfg.get("params", {})), seed=cfg.get("seed"),
                            started=time.time(), ended=None, error=None)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if self._finished(trial):
            return
        row = self.tracker.get(trial.trial_id, self.stage)
        curve = list(row.curve) if row else []
        changes: dict[str, Any] = {"val_acc": result.get(METRIC), "pid": result.get("pid"),
                                   "node": result.get("node"), "epochs": result.get("epoch", 0)}
        for name in ("run_id", "train_seconds", "parameters", "test_acc", "val_loss"):
            if result.get(name) is not None:
                changes[name] = result[name]
        if not result.get("finished") and result.get(METRIC) is not None:
            curve.append(result[METRIC])
        changes["curve"] = curve
        values = [v for v in curve + [result.get(METRIC)] if v is not None]
        changes["best_val_acc"] = max(values) if values else None
        if result.get("invalid"):
            changes.update(status="invalid", error=result["invalid"])
        elif result.get("finished"):
            changes.update(status="completed", ended=time.time())
        self.tracker.update(trial.trial_id, self.stage, force=bool(result.get("finished")),
                            **changes)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        row = self.tracker.get(trial.trial_id, self.stage)
        status = row.status if row and row.status in ("completed", "invalid") else None
        if status is None:
            budget = self.tracker.budget_s
            over = budget is not None and self.tracker.snapshot().elapsed >= budget - 1
            status = "stopped" if over else "early-stopped"
        ended = row.ended if row and row.ended is not None and status == row.status else time.time()
        self.tracker.update(trial.trial_id, self.stage, force=True, status=status, ended=ended)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self._finished(trial):
            return
        self.tracker.update(trial.trial_id, self.stage, force=True, status="failed",
                            ended=time.time(), error=_error_text(trial))


def _error_text(trial: Any) -> str:
    text = ""
    path = getattr(trial, "error_file", None)
    if path and Path(path).is_file():
        lines = [ln for ln in Path(path).read_text(errors="replace").splitlines() if ln.strip()]
        text = lines[-1][:300] if lines else ""
    if "ActorDied" in text or "actor died" in text.lower() or "RayActorError" in text:
        return "The trial's worker process died."
    return text or "The trial failed."


def _tuner(spec: SweepSpec, folder: Path, name: str, ctx: TrialContext, callback: Any,
           param_space: dict[str, Any], *, final: bool, resume: bool) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.basic_variant import BasicVariantGenerator

    trainable = tune.with_resources(tune.with_parameters(train_trial, ctx=ctx), {"cpu": 1})
    path = folder / name
    if resume and tune.Tuner.can_restore(str(path)):
        return tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True,
                                  resume_errored=False, restart_errored=False)
    scheduler = None
    search_alg: Any = BasicVariantGenerator(random_state=spec.search_seed,
                                            max_concurrent=spec.concurrency or 0)
    num_samples = 1
    time_budget = None
    if not final:
        grace = spec.early_stopping.grace_for(spec.max_epochs) if spec.early_stopping else None
        if grace is not None and spec.max_epochs > grace:
            scheduler = ASHAScheduler(time_attr="epoch", max_t=spec.max_epochs + 1,
                                      grace_period=grace,
                                      reduction_factor=spec.early_stopping.reduction_factor)
        if spec.search == "bayes":
            import optuna
            from ray.tune.search.optuna import OptunaSearch

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            search_alg = OptunaSearch(sampler=optuna.samplers.TPESampler(seed=spec.search_seed))
            if spec.concurrency:
                search_alg = ConcurrencyLimiter(search_alg, max_concurrent=spec.concurrency)
        if spec.search != "grid":
            num_samples = spec.trials if spec.trials is not None else -1
        time_budget = spec.minutes * 60 if spec.minutes is not None else None
    return tune.Tuner(
        trainable, param_space=param_space,
        tune_config=tune.TuneConfig(metric=METRIC, mode="max", search_alg=search_alg,
                                    scheduler=scheduler, num_samples=num_samples,
                                    time_budget_s=time_budget, reuse_actors=True),
        run_config=tune.RunConfig(name=name, storage_path=str(folder.resolve()), verbose=0,
                                  callbacks=[callback],
                                  failure_config=tune.FailureConfig(max_failures=0)))


def _finish_runs(tracker: SweepTracker, stage: str, runs_root: Path) -> None:
    """Mark run folders of trials that ended without finishing (ASHA, budget, death)."""
    from hqnn_core.learning.checkpoint import METRICS_FILE
    from hqnn_core.learning.runs import RunStore

    store = RunStore(runs_root)
    for row in tracker.rows(stage):
        if row.run_id is None or row.status in ("completed", "running", "pending"):
            continue
        path = runs_root / row.run_id / METRICS_FILE
        try:
            metrics = read_json(path)
        except RunError:
            continue
        if metrics.get("status") == "running":
            metrics["status"] = "failed" if row.status == "failed" else "stopped"
            metrics["stopped_by"] = row.status
            atomic_write_json(path, metrics)
            store.refresh(row.run_id)


def _fit(tuner: Any) -> bool:
    """``tuner.fit()``; True if a stop (SIGINT) was asked for while it ran.

    Tune catches SIGINT itself, ends the run gracefully and returns normally, so a Stop that
    arrives as a stage's last trial finishes would otherwise look like a completed stage (and
    the next stage would start). Tune's handler hands SIGINT back to the handler it found
    when it fires; finding ours in place afterwards means it fired.
    """
    if threading.current_thread() is not threading.main_thread():
        tuner.fit()
        return False
    asked = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def note(sig: int, frame: Any) -> None:  # a SIGINT that reaches us past Tune
        asked.set()
        if callable(previous):
            previous(sig, frame)

    signal.signal(signal.SIGINT, note)
    try:
        tuner.fit()
    finally:
        if signal.getsignal(signal.SIGINT) is note:
            asked.set()
        signal.signal(signal.SIGINT, previous)
    return asked.is_set()


def _interrupted(tracker: SweepTracker, stage: str, expected: int | None) -> bool:
    """Whether the stage ended early (Ctrl-C); trials still open are marked stopped.

    Trials the time budget ended may get no completion event from Tune: they count as
    stopped by the budget, not as an interruption.
    """
    rows = tracker.rows(stage)
    budget_over = (stage == "search" and tracker.budget_s is not None
                   and tracker.snapshot().elapsed >= tracker.budget_s - 1)
    unfinished = [r for r in rows if r.status in ("running", "pending")]
    for r in unfinished:
        tracker.update(r.trial_id, stage, status="stopped", ended=time.time())
    if budget_over:
        return False
    return bool(unfinished) or (expected is not None and len(rows) < expected)


def _absolute_data_root(spec: SweepSpec) -> dict[str, Any]:
    """The spec the workers get: a relative ``data.root`` made absolute from here.

    Trials run in other processes, other folders and maybe other machines.
    """
    data = spec.to_dict()
    root = data["base"].get("data", {}).get("root")
    if root and not Path(root).is_absolute():
        data["base"]["data"]["root"] = str(Path(root).resolve())
    return data


def run_sweep(spec: SweepSpec, out: str | Path, *, address: str | None = None,
              resume: bool = False, runs_root: str | Path | None = None,
              callbacks: Sequence[Callable[[SweepEvent], None]] = (),
              num_cpus: int | None = None, retrain: bool = True) -> SweepOutcome:
    """Run (or resume) ``spec`` into the sweep folder ``out``; see the module docstring.

    ``retrain=False`` skips the final re-training of the best configuration on the seeds.
    """
    from hqnn_core.learning.runs import RunStore, default_runs_root

    folder = Path(out)
    started = time.perf_counter()
    sweep_id = _prepare_folder(spec, folder, resume)
    root = Path(runs_root) if runs_root is not None else default_runs_root()
    root = root.resolve()
    if not spec.is_baseline:
        RunStore(root).list()  # create (or migrate) the index before trials write to it
    worker_spec = _absolute_data_root(spec)
    tracker = SweepTracker(folder, sweep_id, [p.key for p in spec.space], spec.n_trials(),
                           n_final=len(spec.seeds) * spec.finalists, budget_s=spec.minutes * 60 if spec.minutes else None,
                           callbacks=callbacks)
    key = str(folder.resolve())
    _TRACKERS[key] = tracker
    status, search_seconds = "completed", 0.0
    try:
        with ray_session(address, num_cpus=num_cpus) as mode:
            tracker.set_status("running", f"Searching on Ray ({mode}).", stage="search")
            ctx = TrialContext(sweep_id, str(root), worker_spec, ROLE_SEARCH)
            search_started = time.perf_counter()
            stopped = _fit(_tuner(spec, folder, RAY_DIR, ctx, tune_callback(key, "search"),
                                  _search_space(spec), final=False, resume=resume))
            search_seconds = time.perf_counter() - search_started
            if _interrupted(tracker, "search", spec.n_trials()) or stopped:
                status = "interrupted"
            finalists = finalist_rows(tracker.rows("search"), spec.finalists)
            if status == "completed" and finalists and retrain:
                status = _final_stage(spec, folder, tracker, key, finalists,
                                      TrialContext(sweep_id, str(root), worker_spec, ROLE_FINAL),
                                      resume)
        for stage in ("search", "final"):
            if not spec.is_baseline:
                _finish_runs(tracker, stage, root)
    except KeyboardInterrupt:
        tracker.set_status("interrupted", "Interrupted; resume with --resume to continue.")
        raise
    except BaseException as exc:
        tracker.set_status("failed", f"The sweep failed: {exc}", error=str(exc))
        raise
    finally:
        _TRACKERS.pop(key, None)
    message = ("Sweep finished." if status == "completed"
               else "Interrupted; resume with --resume to continue.")
    tracker.set_status(status, message)
    trials, final = tracker.rows("search"), tracker.rows("final")
    best, best_final = chosen(trials, final)
    return SweepOutcome(folder=folder, sweep_id=sweep_id, status=status, trials=trials,
                        best=best, final=best_final, wall_seconds=time.perf_counter() - started,
                        search_seconds=search_seconds, finalists=finalist_scores(final))


def _final_stage(spec: SweepSpec, folder: Path, tracker: SweepTracker, key: str,
                 finalists: list[TrialRow], ctx: TrialContext, resume: bool) -> str:
    """Retrain the finalists (the best configuration, or the top ``spec.finalists``) on each
    of the spec's seeds."""
    from ray import tune

    wanted = [r.params for r in finalists]
    expected = len(spec.seeds) * len(wanted)
    done = [r for r in tracker.rows("final") if r.status == "completed"]
    if len(done) == expected and all(r.params in wanted for r in done):
        return "completed"
    what = ("the best configuration" if len(wanted) == 1
            else f"the {len(wanted)} best configurations")
    tracker.set_status("running", f"Retraining {what} on seeds "
                       f"{', '.join(map(str, spec.seeds))}.", stage="final")
    params = wanted[0] if len(wanted) == 1 else tune.grid_search(wanted)
    space = {"params": params, "seed": tune.grid_search(list(spec.seeds))}
    stopped = _fit(_tuner(spec, folder, RAY_FINAL_DIR, ctx, tune_callback(key, "final"), space,
                          final=True, resume=resume))
    interrupted = _interrupted(tracker, "final", expected)
    return "interrupted" if interrupted or stopped else "completed"
