"""The bodies of ``hqnn sweep`` and ``hqnn compare`` (hqnn_core.cli only wires them in).

    hqnn sweep SPEC.json [--out DIR] [--runs DIR] [--address ADDR] [--resume] [--quiet]
    hqnn compare SPEC.json [--out DIR] [--runs DIR] [--address ADDR] [--resume] [--quiet]

Progress goes to stderr (tqdm: trials done of the budget, best validation accuracy, ETA);
the final table to stdout. Ctrl-C stops gracefully (exit 130) and prints the resume command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_INTERRUPTED = 130


def add_parsers(sub: Any) -> None:
    """Add the ``sweep`` and ``compare`` subcommands to ``hqnn``'s subparsers."""
    for name, helptext, func in (
            ("sweep", "search a space of configurations on Ray Tune", sweep_command),
            ("compare", "equal-budget comparison: hybrid vs classical twin vs baseline",
             compare_command)):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("spec", type=Path, help=f"{name} specification (JSON)")
        p.add_argument("--out", type=Path, default=None,
                       help=f"{name} folder (default: sweeps/<name in the spec>)")
        p.add_argument("--runs", type=Path, default=None,
                       help="run store for the trials (default: HQNN_RUNS_DIR or ./runs)")
        p.add_argument("--address", default=None,
                       help="an existing Ray cluster (default: RAY_ADDRESS, else a local Ray)")
        p.add_argument("--resume", action="store_true", help="continue an interrupted run")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.set_defaults(func=func)


class _Progress:
    """A tqdm bar over the trials of one stage, fed by sweep events."""

    def __init__(self, quiet: bool, label: str = "") -> None:
        self.quiet, self.label = quiet, label
        self.bar: Any = None
        self.best = 0.0
        self.counted: set[tuple[str, str]] = set()

    def __call__(self, event: Any) -> None:
        from hqnn_core.sweeps.results import FINISHED

        if self.quiet:
            return
        if event.kind == "stage":
            self._open(event)
        elif event.kind == "trial" and event.row is not None and self.bar is not None:
            key = (event.stage, event.row.trial_id)
            if event.row.status in FINISHED and key not in self.counted:
                self.counted.add(key)
                self.bar.update(1)
            acc = event.row.val_acc
            if event.row.status == "completed" and acc is not None and acc > self.best:
                self.best = acc
                self.bar.set_postfix(best_val=f"{self.best:.4f}")
        elif event.kind == "end":
            self.close()

    def _open(self, event: Any) -> None:
        from tqdm import tqdm

        self.close()
        desc = f"{self.label}{event.stage}"
        self.bar = tqdm(total=event.total, unit="trial", desc=desc, file=sys.stderr,
                        dynamic_ncols=True)
        self.best = 0.0

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _default_out(name: str) -> Path:
    return Path("sweeps") / "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _print_sweep(outcome: Any) -> None:
    from hqnn_core.sweeps.report import sweep_summary

    print(sweep_summary(outcome))


def sweep_command(args: argparse.Namespace) -> int:
    """``hqnn sweep``: run or resume one sweep."""
    from hqnn_core.sweeps.run import run_sweep
    from hqnn_core.sweeps.spec import SweepSpec

    spec = SweepSpec.from_json(args.spec)
    out = args.out or _default_out(spec.name)
    progress = _Progress(args.quiet)
    try:
        outcome = run_sweep(spec, out, address=args.address, resume=args.resume,
                            runs_root=args.runs, callbacks=[progress])
    finally:
        progress.close()
    _print_sweep(outcome)
    if outcome.status == "interrupted":
        print(f"Interrupted; finished trials are kept in {out}. Continue with: hqnn sweep "
              f"{args.spec} --out {out} --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """``hqnn compare``: tune hybrid, twin and baseline equally, retrain on seeds, report."""
    from hqnn_core.sweeps.compare import CompareSpec, compare_table_markdown, run_compare

    spec = CompareSpec.from_json(args.spec)
    out = args.out or _default_out(spec.name)
    progress = _Progress(args.quiet)

    def on_event(arm: str, event: Any) -> None:
        progress.label = f"{arm} "
        progress(event)

    try:
        result = run_compare(spec, out, address=args.address, resume=args.resume,
                             runs_root=args.runs, callbacks=[on_event])
    finally:
        progress.close()
    print(compare_table_markdown(result))
    if result.status == "interrupted":
        print(f"Interrupted; finished trials are kept in {out}. Continue with: hqnn compare "
              f"{args.spec} --out {out} --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
