"""The Data page's view goes through the model's own front."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.diagnostics.encoding import front_view, pca_reconstruction
from hqnn_core.errors import ConfigError
from hqnn_core.learning.fronts import PCAFront
from hqnn_core.learning.model import build_model

DATA = load_dataset(DataConfig(name="digits"))
IMAGES = DATA.x_train[:4]


def _cfg(encoding: str, kind: str = "hybrid", front: str = "none", n: int = 4) -> RunConfig:
    return RunConfig(circuit=CircuitConfig(n_qubits=n, encoding=encoding),
                     model=ModelConfig(kind=kind, front=front))


def test_a_fixed_pca_front_is_the_models_own() -> None:
    cfg = _cfg("angle", front="pca")
    view = front_view(cfg, IMAGES, DATA.x_train)
    model = build_model(cfg, n_classes=10, image_shape=DATA.image_shape, x_train=DATA.x_train)
    assert isinstance(model.front, PCAFront) and view.fixed
    expected = pca_reconstruction(model.front, IMAGES)
    torch.testing.assert_close(view.views, expected.to(view.views.dtype))
    assert view.views.shape == (4, 8, 8)


def test_more_components_keep_more_of_the_picture() -> None:
    errors = []
    for n in (2, 8):
        view = front_view(_cfg("angle", kind="quantum", n=n), IMAGES, DATA.x_train)
        errors.append(float((view.views - IMAGES[:, 0]).square().mean()))
    assert errors[1] < errors[0]


def test_amplitude_and_basis_fronts_are_their_downsamples() -> None:
    amp = front_view(_cfg("amplitude", kind="quantum", n=4), IMAGES, DATA.x_train)
    assert amp.views.shape == (4, 4, 4) and amp.fixed
    assert torch.allclose(amp.views.flatten(1).amax(1), torch.ones(4))
    model = build_model(_cfg("amplitude", kind="quantum", n=4), n_classes=2,
                        image_shape=DATA.image_shape)
    feats = model.encode(IMAGES)
    ratio = amp.views.flatten(1) / feats
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-5)
    bits = front_view(_cfg("basis", front="none", n=4), IMAGES, DATA.x_train)
    assert set(bits.views.unique().tolist()) <= {0.0, 1.0} and bits.views.shape == (4, 2, 2)


def test_a_trainable_front_is_shown_as_what_a_linear_map_can_keep() -> None:
    view = front_view(_cfg("angle", front="linear"), IMAGES, DATA.x_train)
    assert not view.fixed and "trained" in view.description
    fixed = front_view(_cfg("angle", front="pca"), IMAGES, DATA.x_train)
    torch.testing.assert_close(view.views.float(), fixed.views.float(), atol=1e-5, rtol=0)


def test_an_impossible_front_is_one_sentence() -> None:
    cfg = dataclasses.replace(_cfg("amplitude", kind="quantum"),
                              circuit=CircuitConfig(n_qubits=7, encoding="amplitude"))
    with pytest.raises(ConfigError, match="pixels"):
        front_view(cfg, IMAGES, DATA.x_train)
