"""How well MNIST models read handwriting that is not MNIST, through ``predict_images``.

    python benchmarks/handwriting.py assets/models/mnist-hybrid [RUN_DIR ...]

Two sources, both as a person would supply them (PIL images, the model's own image recipe):
  samples  the images in ``assets/samples`` (canvas, pen, marker, chalk, scan, photo)
  sklearn  all 1,797 of scikit-learn's 8x8 digits (UCI optical recognition, 43 writers, other
           scanner and preprocessing than MNIST), padded, upscaled to 96x96, blurred and drawn
           dark on white, as ``assets/samples/make_samples.py`` makes its "5"
For each run: correct / total and the mean probability of the true class. Use it before
replacing a shipped MNIST model: the new one should read at least as much as the old.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from hqnn_core.data.images import read_image
from hqnn_core.learning.runs import load_run

REPO = Path(__file__).resolve().parents[1]


def sample_images() -> tuple[list[Image.Image], np.ndarray]:
    """The shipped sample files and their digits (from the file names)."""
    paths = sorted((REPO / "assets" / "samples").glob("digit-*.png"))
    return ([read_image(p.read_bytes()) for p in paths],
            np.array([int(p.name.split("-")[1]) for p in paths]))


def sklearn_images() -> tuple[list[Image.Image], np.ndarray]:
    """scikit-learn's digits redrawn as 96x96 dark-on-white scans."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = []
    for digit in bunch.images:
        padded = np.pad(digit / 16.0, 2)
        small = Image.fromarray((255 - padded * 255).astype(np.uint8))
        images.append(small.resize((96, 96), Image.Resampling.BICUBIC)
                      .filter(ImageFilter.GaussianBlur(2.5)))
    return images, bunch.target


def score(run_dir: str, images: list[Image.Image], truth: np.ndarray) -> tuple[int, float]:
    """(correct, mean probability of the true class) of a run on labelled images."""
    run = load_run(run_dir)
    classes = [int(c) for c in run.class_names]
    probs = run.predict_images(images)
    column = np.array([classes.index(t) for t in truth])
    pred = np.array(classes)[probs.argmax(axis=1)]
    return int((pred == truth).sum()), float(probs[np.arange(len(truth)), column].mean())


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    sources = {"samples": sample_images(), "sklearn": sklearn_images()}
    print("| run | source | correct | true-class probability |")
    print("|---|---|---:|---:|")
    for run_dir in argv:
        for name, (images, truth) in sources.items():
            correct, p_true = score(run_dir, images, truth)
            print(f"| {run_dir} | {name} | {correct}/{len(truth)} ({100 * correct / len(truth):.1f}%)"
                  f" | {p_true:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
