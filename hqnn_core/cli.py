"""The ``hqnn`` command line: train, eval, predict, sweep and compare.

    hqnn train CONFIG.json --out RUN_DIR [--resume]   # Ctrl-C saves a checkpoint, exit 130
    hqnn eval RUN_DIR                                 # accuracy and confusion matrix
    hqnn predict RUN_DIR IMAGE...                     # top class and probabilities per image
    hqnn sweep SPEC.json [--out DIR] [--address ADDR] [--resume]    # hqnn_core.sweeps.cli
    hqnn compare SPEC.json [--out DIR] [--address ADDR] [--resume]  # equal-budget comparison

Errors a user can cause print one sentence to stderr: exit 2 for a bad configuration or
arguments, 1 for anything else (missing data, corrupt run folder, unreadable image).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

from hqnn_core.errors import ConfigError, HqnnError

EXIT_INTERRUPTED = 130


def _print_confusion(confusion: Sequence[Sequence[int]], class_names: Sequence[str]) -> None:
    width = max(5, *(len(str(c)) + 1 for c in class_names))
    print("confusion matrix (rows: true class, columns: predicted)")
    print(" " * width + "".join(f"{c:>{width}}" for c in class_names))
    for name, row in zip(class_names, confusion):
        print(f"{name:>{width}}" + "".join(f"{v:>{width}}" for v in row))


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from hqnn_core.learning.runs import read_config_file
    from hqnn_core.learning.training import TrainEvent, fit

    cfg = read_config_file(args.config)  # a run folder's config.json: the values it was trained with
    stop = threading.Event()
    bar: dict[str, Any] = {}

    def on_event(event: TrainEvent) -> None:
        if event.kind == "start":
            bar["tqdm"] = tqdm(total=event.total_steps, initial=event.step, unit="batch",
                               desc="train", file=sys.stderr, dynamic_ncols=True)
        elif event.kind == "batch" and "tqdm" in bar:
            bar["tqdm"].update(1)
            bar["tqdm"].set_postfix(epoch=event.epoch + 1, loss=f"{event.loss:.4f}",
                                    acc=f"{event.acc:.3f}")
        elif event.kind == "epoch" and "tqdm" in bar:
            val = f", val acc {event.val_acc:.4f}" if event.val_acc is not None else ""
            bar["tqdm"].write(f"epoch {event.epoch + 1}: loss {event.loss:.4f}, "
                              f"acc {event.acc:.4f}{val}")

    def on_sigint(signum: int, frame: Any) -> None:
        stop.set()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = fit(cfg, run_dir=args.out, callbacks=[on_event], stop_event=stop,
                     resume=args.resume)
    finally:
        if "tqdm" in bar:
            bar["tqdm"].close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if result.status == "stopped":
        print(f"Stopped after {result.metrics['steps']} steps; checkpoint saved in {args.out}. "
              f"Continue with: hqnn train {args.config} --out {args.out} --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    m = result.metrics
    print(f"test accuracy {m['test_accuracy']:.4f} on {m['n_test']} images; "
          f"trained in {m['train_seconds']:.1f} s; run saved in {args.out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from hqnn_core.data.registry import load_dataset
    from hqnn_core.learning.runs import load_run
    from hqnn_core.learning.training import evaluate, test_report

    run = load_run(args.run_dir)
    data = load_dataset(run.config.data)
    _, _, pred = evaluate(run.model, data.x_test, data.y_test)
    report = test_report(pred, data.y_test, run.class_names)
    print(f"test accuracy {report['test_accuracy']:.4f} on {len(data.y_test)} images "
          f"({run.config.data.name}, {run.config.model.kind})")
    _print_confusion(report["confusion_matrix"], run.class_names)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from hqnn_core.data.images import read_image
    from hqnn_core.learning.runs import load_run

    run = load_run(args.run_dir)
    images = []
    for path in args.images:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise HqnnError(f"Cannot read the image {path}: {exc.strerror}.") from exc
        images.append(read_image(data))
    probs = run.predict_images(images)
    for path, row in zip(args.images, probs):
        top = int(row.argmax())
        listed = ", ".join(f"{name}: {p:.3f}" for name, p in zip(run.class_names, row))
        print(f"{path}: {run.class_names[top]} ({row[top]:.1%})  [{listed}]")
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{message[0].upper()}{message[1:]}; see 'hqnn --help'.")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hqnn``."""
    parser = _Parser(prog="hqnn", description="Train and use hybrid quantum-classical "
                     "image classifiers.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train a model from a JSON config")
    train.add_argument("config", help="run configuration (JSON)")
    train.add_argument("--out", required=True, type=Path, help="run folder to write")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    train.set_defaults(func=_train)
    ev = sub.add_parser("eval", help="accuracy and confusion matrix of a run on its test split")
    ev.add_argument("run_dir", type=Path)
    ev.set_defaults(func=_eval)
    pr = sub.add_parser("predict", help="classify image files with a trained run")
    pr.add_argument("run_dir", type=Path)
    pr.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    pr.set_defaults(func=_predict)
    from hqnn_core.sweeps.cli import add_parsers

    add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hqnn`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        return int(args.func(args))
    except ConfigError as exc:
        print(f"hqnn: {exc}", file=sys.stderr)
        return 2
    except HqnnError as exc:
        print(f"hqnn: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hqnn: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
