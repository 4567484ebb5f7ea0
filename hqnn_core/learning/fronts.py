"""Fixed (untrained) preprocessing fronts and what each encoding sees of an image.

A fixed front turns images ``(B, C, H, W)`` in [0, 1] into the features a quantum layer
takes, with no trainable parameters:

* amplitude encoding: the image is area-downsampled to ``2**n`` pixels (16x16 for 8
  qubits, 16x8 for 7) and L2-normalised;
* basis encoding: the image is downsampled to ``n`` pixels and binarised against its own
  mean brightness (1 = brighter than average);
* angle, dense-angle and IQP encodings: a PCA fitted on the training images, each
  component standardised by its training spread and mapped to an angle in (0, pi).

PCA statistics live in buffers, so they are saved with the model's weights and a loaded
model needs no training data.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hqnn_core.config import CircuitConfig
from hqnn_core.errors import ConfigError, ShapeError

_EPS = 1e-8


def grid_shape(n_pixels: int) -> tuple[int, int]:
    """A (height, width) grid of ``n_pixels`` pixels, as square as possible (a power of 2 or not)."""
    height = int(math.isqrt(n_pixels))
    while n_pixels % height:
        height -= 1
    return n_pixels // height, height


def to_gray(images: Tensor) -> Tensor:
    """Average the colour channels: ``(B, C, H, W)`` -> ``(B, 1, H, W)``."""
    if images.dim() != 4:
        raise ShapeError(f"Expected images shaped (B, C, H, W), got {tuple(images.shape)}.")
    return images.mean(dim=1, keepdim=True)


def downsample(images: Tensor, n_pixels: int) -> Tensor:
    """Area-average grayscale images to a grid of ``n_pixels`` pixels: -> ``(B, h, w)``."""
    h, w = grid_shape(n_pixels)
    return nn.functional.adaptive_avg_pool2d(to_gray(images), (h, w))[:, 0]  # (B, h, w)


def to_angles(z: Tensor) -> Tensor:
    """Map real features to rotation angles in (0, pi) with ``pi * sigmoid``."""
    return math.pi * torch.sigmoid(z)


class AmplitudeFront(nn.Module):
    """Downsample to ``2**n`` pixels and L2-normalise (a blank image becomes uniform)."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.n_features = n_features

    def forward(self, images: Tensor) -> Tensor:
        x = downsample(images, self.n_features).flatten(1) + _EPS  # (B, 2**n)
        return x / x.norm(dim=1, keepdim=True)


class BasisFront(nn.Module):
    """Downsample to ``n`` pixels and binarise each against the image's mean brightness."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.n_features = n_features

    def forward(self, images: Tensor) -> Tensor:
        x = downsample(images, self.n_features).flatten(1)  # (B, n)
        return (x > x.mean(dim=1, keepdim=True)).to(images.dtype)


class PCAFront(nn.Module):
    """A fixed PCA to ``n_features`` components, standardised and mapped to angles.

    Fitted on ``x_train`` when given; otherwise the buffers are placeholders to be filled
    by ``load_state_dict`` (how a saved model is rebuilt).
    """

    def __init__(self, n_features: int, in_features: int, x_train: Tensor | None = None,
                 *, angles: bool = True) -> None:
        super().__init__()
        if n_features > in_features:
            raise ConfigError(
                f"PCA cannot give {n_features} features from {in_features} pixels; "
                "use fewer qubits or a linear/cnn front."
            )
        self.n_features = n_features
        self.angles = angles
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("components", torch.zeros(in_features, n_features))
        self.register_buffer("scale", torch.ones(n_features))
        if x_train is not None:
            self.fit(x_train)

    @torch.no_grad()
    def fit(self, x_train: Tensor) -> None:
        """Fit mean, principal directions and per-component spread on training images."""
        flat = x_train.flatten(1).to(torch.float64)  # (N, D)
        if flat.shape[1] != self.mean.numel():
            raise ShapeError(
                f"PCA expects {self.mean.numel()} pixels per image, got {flat.shape[1]}."
            )
        if flat.shape[0] < 2:
            raise ConfigError("PCA needs at least two training images; use a larger train_size.")
        mean = flat.mean(dim=0)
        _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)  # vh: (r, D)
        comps = torch.zeros(flat.shape[1], self.n_features, dtype=torch.float64)
        r = min(self.n_features, vh.shape[0])
        comps[:, :r] = vh[:r].T
        # Make each direction's sign deterministic (largest entry positive).
        signs = torch.sign(comps[comps.abs().argmax(dim=0), torch.arange(self.n_features)])
        comps = comps * torch.where(signs == 0, torch.ones_like(signs), signs)
        proj = (flat - mean) @ comps  # (N, k)
        scale = proj.std(dim=0).clamp_min(1e-6)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.components.copy_(comps.to(self.components.dtype))
        self.scale.copy_(scale.to(self.scale.dtype))

    def forward(self, images: Tensor) -> Tensor:
        z = (images.flatten(1) - self.mean) @ self.components / self.scale  # (B, k)
        return to_angles(z) if self.angles else z


def fixed_front(circuit: CircuitConfig, *, image_shape: tuple[int, ...],
                x_train: Tensor | None, force_pca: bool = False) -> nn.Module:
    """The fixed front that feeds ``circuit`` its features straight from the images."""
    n = circuit.n_features
    in_features = int(math.prod(image_shape))
    pixels = int(math.prod(image_shape[1:]))
    if force_pca or circuit.encoding not in ("amplitude", "basis"):
        return PCAFront(n, in_features, x_train, angles=circuit.encoding != "amplitude")
    if n > pixels:
        raise ConfigError(
            f"{circuit.encoding} encoding on {circuit.n_qubits} qubits needs {n} pixels but the "
            f"images have {pixels}; use fewer qubits or a larger image_size."
        )
    return AmplitudeFront(n) if circuit.encoding == "amplitude" else BasisFront(n)


def encoding_view(images: Tensor, circuit_cfg: CircuitConfig) -> Tensor:
    """What the encoding sees of each image, as a small grayscale picture ``(B, h, w)`` in [0, 1].

    Amplitude: the ``2**n``-pixel downsample (e.g. 16x16 for 8 qubits); basis: the
    binarised ``n``-pixel downsample; angle-type encodings: the ``n_features``-pixel
    downsample, i.e. how much of the picture that many numbers can carry.
    """
    if images.dim() == 3:
        images = images.unsqueeze(1)
    n = circuit_cfg.n_features
    if circuit_cfg.encoding == "basis":
        return BasisFront(n)(images).reshape(-1, *grid_shape(n))
    return downsample(images, n).clamp(0.0, 1.0)
