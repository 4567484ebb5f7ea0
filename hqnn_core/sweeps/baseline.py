"""Plain baselines on the raw pixels (scikit-learn): logistic regression and a small MLP.

The honest reference of an equal-budget comparison: no circuit, no front, just the flattened
images of the same split the hybrid sees (the same ``DataConfig``, so the same train,
validation and test images).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hqnn_core.config import DataConfig


def _flat(x: Any) -> np.ndarray:
    return x.reshape(len(x), -1).numpy().astype(np.float64)


def fit_baseline(data_cfg: DataConfig, kind: str, settings: dict[str, Any], *, seed: int,
                 with_test: bool = False) -> dict[str, Any]:
    """Fit the ``kind`` ("logistic" | "mlp") baseline; validation (and test) accuracy, size."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from hqnn_core.data.registry import load_dataset

    data = load_dataset(data_cfg)
    x_train, y_train = _flat(data.x_train), data.y_train.numpy()
    if kind == "logistic":
        model: Any = LogisticRegression(C=float(settings["C"]), max_iter=int(settings["max_iter"]))
    else:
        model = MLPClassifier(hidden_layer_sizes=(int(settings["hidden"]),),
                              alpha=float(settings["alpha"]),
                              learning_rate_init=float(settings["lr"]),
                              max_iter=int(settings["max_iter"]), random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    if kind == "logistic":
        parameters = int(model.coef_.size + model.intercept_.size)
    else:
        parameters = int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))
    out = {"val_acc": float(model.score(_flat(data.x_val), data.y_val.numpy())),
           "parameters": parameters, "test_acc": None}
    if with_test:
        out["test_acc"] = float(model.score(_flat(data.x_test), data.y_test.numpy()))
    return out
