"""What the circuit's inputs keep of an image, through the front the model actually uses.

* Fixed fronts (``pca``, ``none``, and every quantum-only model) are built exactly as the
  model builds them (``fixed_front``): a PCA front is shown as the image rebuilt from its
  ``n`` components, an amplitude front as its ``2**n``-pixel normalised downsample, a
  basis front as its ``n`` bits.
* Trainable fronts (``linear``, ``cnn``) learn which ``n`` numbers to pass; before training
  the view is the PCA reconstruction from ``n`` components, the most any linear map of
  ``n`` numbers can keep of the pictures (in squared error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hqnn_core.config import RunConfig
from hqnn_core.learning.fronts import (AmplitudeFront, BasisFront, PCAFront, fixed_front,
                                       grid_shape)

MAX_FIT_IMAGES = 5000


@dataclass(frozen=True)
class FrontView:
    """Pictures ``(B, h, w)`` in [0, 1] of what the circuit's inputs keep, and how."""

    views: torch.Tensor
    fixed: bool  # True when the front is fixed (the view is exactly what the model gets)
    description: str


def _fit_images(x_train: torch.Tensor) -> torch.Tensor:
    if len(x_train) <= MAX_FIT_IMAGES:
        return x_train
    index = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))
    return x_train[index[:MAX_FIT_IMAGES]]


@torch.no_grad()
def pca_reconstruction(front: PCAFront, images: torch.Tensor) -> torch.Tensor:
    """Images ``(B, C, H, W)`` rebuilt from the front's components -> ``(B, H, W)`` gray."""
    flat = images.flatten(1).to(front.mean.dtype)
    rebuilt = front.mean + ((flat - front.mean) @ front.components) @ front.components.T
    c, h, w = images.shape[1:]
    return rebuilt.reshape(-1, c, h, w).mean(dim=1).clamp(0.0, 1.0)


@torch.no_grad()
def front_view(cfg: RunConfig, images: torch.Tensor, x_train: torch.Tensor) -> FrontView:
    """What the circuit of ``cfg`` receives of ``images`` ``(B, C, H, W)``.

    ``x_train`` fits the PCA (at most ``MAX_FIT_IMAGES`` of them, chosen with seed 0).
    Raises ``ConfigError`` when the front cannot give the encoding its features.
    """
    circuit, model = cfg.circuit, cfg.model
    n = circuit.n_features
    shape = tuple(int(s) for s in images.shape[1:])
    fixed = model.kind == "quantum" or model.front in ("pca", "none")
    if not fixed:
        front = PCAFront(n, int(math.prod(shape)), _fit_images(x_train), angles=False)
        return FrontView(pca_reconstruction(front, images), False,
                         f"The {model.front} front is trained to choose the {n} numbers the "
                         f"{circuit.encoding} encoding takes; shown is the most {n} numbers "
                         "of a linear map can keep of each image (its PCA reconstruction).")
    front = fixed_front(circuit, image_shape=shape, x_train=_fit_images(x_train),
                        force_pca=model.front == "pca")
    if isinstance(front, PCAFront):
        return FrontView(pca_reconstruction(front, images), True,
                         f"A fixed PCA keeps {n} principal components of each image; shown is "
                         "the image rebuilt from them.")
    features = front(images)  # (B, n) amplitudes or bits
    views = features.reshape(-1, *grid_shape(n))
    if isinstance(front, AmplitudeFront):
        views = views / views.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
        text = (f"Amplitude encoding gets the image downsampled to {n} pixels and normalised "
                "(one amplitude per pixel).")
    else:
        assert isinstance(front, BasisFront)
        text = (f"Basis encoding gets {n} bits: the image downsampled to {n} pixels, each "
                "brighter or darker than the image's mean.")
    return FrontView(views.clamp(0.0, 1.0), True, text)
