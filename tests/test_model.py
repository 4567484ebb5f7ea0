"""Model shapes per kind / encoding / measurement, the classical twin, fixed fronts."""

from __future__ import annotations

import pytest
import torch

from hqnn_core.config import RunConfig
from hqnn_core.errors import ConfigError, ShapeError
from hqnn_core.learning.model import build_model, count_parameters, twin_config
from hqnn_core.learning.fronts import PCAFront, encoding_view, grid_shape

IMAGE = (1, 8, 8)


def _cfg(kind: str = "hybrid", front: str = "linear", **circuit) -> RunConfig:
    circuit = {"n_qubits": 3, "layers": 1, **circuit}
    return RunConfig.from_dict({"circuit": circuit, "model": {"kind": kind, "front": front}})


def _images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *IMAGE, generator=torch.Generator().manual_seed(seed))


CASES = [("angle", "z"), ("angle", "zz"), ("dense_angle", "probs"), ("amplitude", "z"),
         ("amplitude", "probs"), ("basis", "z"), ("iqp", "zz")]


@pytest.mark.parametrize("kind", ["hybrid", "classical"])
@pytest.mark.parametrize("front", ["linear", "cnn", "pca", "none"])
@pytest.mark.parametrize("encoding,measurement", CASES)
def test_trainable_kinds_shapes(kind, front, encoding, measurement):
    cfg = _cfg(kind, front, encoding=encoding, measurement=measurement)
    x = _images()
    model = build_model(cfg, n_classes=5, image_shape=IMAGE, x_train=_images(20, 1))
    assert model(x).shape == (6, 5)
    assert model.encode(x).shape == (6, cfg.circuit.n_features)
    assert (model.quantum_layer is None) == (kind == "classical")
    assert model.preprocess_style == "digits"


@pytest.mark.parametrize("encoding,measurement", CASES)
def test_quantum_kind_has_no_classical_parameters(encoding, measurement):
    cfg = _cfg("quantum", "none", encoding=encoding, measurement=measurement)
    model = build_model(cfg, n_classes=3, image_shape=IMAGE, x_train=_images(20, 1))
    scores = model(_images())
    assert scores.shape == (6, 3)
    counts = count_parameters(model)
    assert counts["classical"] == 0 and counts["quantum"] > 0
    if measurement == "probs":  # log of class probabilities that sum to one
        assert torch.allclose(scores.exp().sum(dim=1), torch.ones(6), atol=1e-5)


def test_quantum_kind_needs_enough_outputs():
    with pytest.raises(ConfigError, match="qubits"):
        build_model(_cfg("quantum", measurement="z"), n_classes=4, image_shape=IMAGE,
                    x_train=_images(20))
    with pytest.raises(ConfigError, match="basis states"):
        build_model(_cfg("quantum", n_qubits=2, encoding="amplitude", measurement="probs"),
                    n_classes=5, image_shape=IMAGE)


def test_amplitude_needs_enough_pixels():
    with pytest.raises(ConfigError, match="pixels"):
        build_model(_cfg("quantum", n_qubits=7, encoding="amplitude", measurement="probs"),
                    n_classes=2, image_shape=IMAGE)


def test_twin_parameter_count_is_comparable():
    cfg = _cfg(n_qubits=4, layers=2)
    hybrid = build_model(cfg, n_classes=10, image_shape=IMAGE)
    twin = build_model(twin_config(cfg), n_classes=10, image_shape=IMAGE)
    h, t = count_parameters(hybrid)["total"], count_parameters(twin)["total"]
    assert 0.5 <= t / h <= 2.0
    assert twin.front[-2].weight.shape == hybrid.front[-2].weight.shape


def test_twin_config():
    quantum = _cfg("quantum", "linear", encoding="amplitude", measurement="probs")
    twin = twin_config(quantum)
    assert (twin.model.kind, twin.model.front) == ("classical", "none")
    assert twin.circuit == quantum.circuit and twin.train == quantum.train


def test_wrong_image_shape_raises():
    model = build_model(_cfg(), n_classes=3, image_shape=IMAGE)
    with pytest.raises(ShapeError):
        model(torch.rand(2, 1, 9, 9))


def test_pca_front_roundtrip_through_state_dict():
    x = _images(30)
    fitted = PCAFront(4, 64, x)
    fresh = PCAFront(4, 64)
    fresh.load_state_dict(fitted.state_dict())
    out = fresh(x)
    assert torch.equal(out, fitted(x))
    assert out.min() > 0 and out.max() < torch.pi


def test_encoding_view_shapes():
    from hqnn_core.config import CircuitConfig

    x = torch.rand(2, 1, 28, 28)
    amp = encoding_view(x, CircuitConfig(n_qubits=8, encoding="amplitude"))
    assert amp.shape == (2, 16, 16)
    basis = encoding_view(x, CircuitConfig(n_qubits=6, encoding="basis"))
    assert basis.shape == (2, 3, 2) and set(basis.unique().tolist()) <= {0.0, 1.0}
    assert grid_shape(128) == (16, 8)


def test_twin_core_matches_quantum_outputs():
    cfg = _cfg(n_qubits=4, measurement="zz", entanglement="linear")
    hybrid = build_model(cfg, n_classes=3, image_shape=IMAGE)
    twin = build_model(twin_config(cfg), n_classes=3, image_shape=IMAGE)
    assert twin.core.n_outputs == hybrid.quantum_layer.n_outputs
