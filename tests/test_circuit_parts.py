"""The steps build_circuit records: parts that add up to the circuit, named in order."""

from __future__ import annotations

import pytest

from hqnn_core.circuits.build import build_circuit, circuit_part
from hqnn_core.config import CircuitConfig
from hqnn_core.errors import ConfigError


@pytest.mark.parametrize("cfg", [CircuitConfig(n_qubits=3, layers=2),
                                 CircuitConfig(n_qubits=3, layers=3, reupload=True,
                                               ansatz="efficient_su2")])
def test_parts_add_up_to_the_circuit(cfg: CircuitConfig) -> None:
    built = build_circuit(cfg)
    labels = [label for label, _ in built.steps]
    assert labels[0] == "encoding" and labels[1] == "layer 1"
    assert len(labels) == 1 + cfg.layers + (cfg.ansatz == "efficient_su2")
    assert built.steps[-1][1] == len(built.circuit.data)
    ops = [inst for label in labels for inst in circuit_part(built, label).data]
    assert [(i.operation.name, i.qubits) for i in ops] == [
        (i.operation.name, i.qubits) for i in built.circuit.data]
    if cfg.reupload:
        assert labels[2] == "layer 2 (re-upload + ansatz)"
        assert circuit_part(built, labels[2]).num_parameters > circuit_part(built, "layer 1"
                                                                            ).num_parameters


def test_an_unknown_step_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="encoding, layer 1"):
        circuit_part(build_circuit(CircuitConfig(layers=1)), "layer 9")
