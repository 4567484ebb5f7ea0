"""The configuration link codec (hqnn_core.studio.url): types by declaration, round trips."""

from __future__ import annotations

import pytest

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_core.errors import ConfigError
from hqnn_core.studio.url import config_to_query, is_config_key, query_to_config


def test_a_folder_named_by_digits_stays_a_folder_name() -> None:
    cfg = query_to_config({"data.name": "folder", "data.root": "123"})
    assert cfg is not None and cfg.data.root == "123"


def test_values_are_read_by_the_declared_field_type() -> None:
    cfg = query_to_config({"data.classes": "0,3,7", "data.train_size": "300",
                           "data.val_fraction": "0.2", "data.augment": "true",
                           "circuit.n_qubits": "6", "circuit.reupload": "false",
                           "train.lr": "0.05", "train.shots": "none", "train.noise": "FakeManilaV2",
                           "session": "abc"})
    assert cfg == RunConfig(data=DataConfig(classes=(0, 3, 7), train_size=300, val_fraction=0.2,
                                            augment=True),
                            circuit=CircuitConfig(n_qubits=6),
                            train=TrainConfig(lr=0.05, noise="FakeManilaV2"))
    assert isinstance(cfg.train.lr, float) and cfg.data.classes == (0, 3, 7)


@pytest.mark.parametrize("key, raw, words", [
    ("circuit.n_qubits", "six", "whole number"), ("circuit.n_qubits", "6.5", "whole number"),
    ("circuit.reupload", "1", "true or false"), ("train.lr", "fast", "a number"),
    ("data.classes", "a,b", "separated by commas"), ("circuit.colour", "red", "unknown setting"),
    ("data.seed", "true", "whole number"),
])
def test_unreadable_values_are_one_sentence(key: str, raw: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        query_to_config({key: raw})
    assert words in str(info.value) and "\n" not in str(info.value)


def test_every_field_round_trips() -> None:
    cfg = RunConfig(data=DataConfig(name="folder", root="42", classes=(1, 2), test_size=50,
                                    image_size=16, grayscale=False, seed=3),
                    circuit=CircuitConfig(n_qubits=5, encoding="iqp", ansatz="efficient_su2",
                                          layers=3, entanglement="full", measurement="zz",
                                          reupload=True, rotation="x", init="small",
                                          input_scale=False),
                    model=ModelConfig(kind="quantum", front="pca", hidden=8, dropout=0.25),
                    train=TrainConfig(epochs=7, batch_size=16, lr=0.002, optimizer="sgd",
                                      schedule="cosine", weight_decay=1e-4, seed=9,
                                      backend="aer", shots=1000, noise="FakeManilaV2",
                                      warmup=0.1, decay_angles=True, patience=5,
                                      restore_best=True))
    query = config_to_query(cfg)
    assert all(isinstance(v, str) for v in query.values())
    assert query["data.root"] == "42" and query["data.classes"] == "1,2"
    assert (query["train.patience"], query["circuit.input_scale"]) == ("5", "false")
    assert query_to_config(query) == cfg


def test_defaults_make_an_empty_link_and_other_keys_are_ignored() -> None:
    assert config_to_query(RunConfig()) == {}
    assert query_to_config({"session": "x", "page": "train"}) is None
    assert is_config_key("circuit.layers") and not is_config_key("session")
