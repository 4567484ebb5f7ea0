"""Classify one person's image with a trained run and look at the quantum state inside.

``classify_image`` applies the run's own image recipe, predicts class probabilities and,
for models with a quantum layer, returns the exact statevector of the encoded input
(Qiskit's little-endian order) for Bloch vectors and basis-state histograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hqnn_core.qiskit_thread import load_qiskit
from hqnn_core.learning.runs import LoadedRun


@dataclass(frozen=True)
class Classification:
    """The model's view of one image and its answer."""

    model_input: torch.Tensor  # (C, H, W) in [0, 1]: what the model sees
    probabilities: np.ndarray  # (K,)
    class_names: tuple[str, ...]
    statevector: np.ndarray | None  # (2**n,) complex, None for classical models

    @property
    def predicted(self) -> int:
        """Index of the most likely class."""
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        """Name of the most likely class."""
        return self.class_names[self.predicted]

    @property
    def blank(self) -> bool:
        """True when the image held no ink at all (the recipe gives all zeros)."""
        return float(self.model_input.abs().max()) == 0.0

    @property
    def basis_probabilities(self) -> np.ndarray | None:
        """``|amplitude|**2`` of each basis state ``(2**n,)``, or None without a circuit."""
        return None if self.statevector is None else np.abs(self.statevector) ** 2


@torch.no_grad()
def classify_image(run: LoadedRun, image: Any) -> Classification:
    """Prepare ``image`` (PIL or an (H, W[, C]) array) like the run's data and classify it."""
    load_qiskit()
    x = run.prepare([image])  # (1, C, H, W)
    probs = run.predict_tensor(x)[0]  # (K,)
    layer = run.model.quantum_layer
    state = None
    if layer is not None:
        features = run.model.encode(x)  # (1, n_features)
        state = layer.statevector(features)[0].detach().cpu().numpy()  # (2**n,)
    return Classification(model_input=x[0], probabilities=probs,
                          class_names=tuple(run.class_names), statevector=state)
