"""Resource estimates: pure, close to what the engine allocates, and refusals in one sentence."""

from __future__ import annotations

import resource

import pytest
import torch

from hqnn_core.config import CircuitConfig, DataConfig, RunConfig, TrainConfig
from hqnn_core.errors import ResourceError
from hqnn_core.learning import resources
from hqnn_core.learning.layer import QuantumLayer



def test_sixteen_qubit_amplitude_is_refused_before_anything_is_allocated() -> None:
    circuit = CircuitConfig(n_qubits=16, encoding="amplitude")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ResourceError) as caught:
        QuantumLayer(circuit)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    message = str(caught.value)
    assert "\n" not in message and "8.0 GiB" in message and "HQNN_MAX_MEMORY_BYTES" in message
    assert grown < 200 * 1024  # KiB: the 32 GiB angle map was never started


def test_training_refuses_a_huge_batch_naming_the_limit(monkeypatch) -> None:
    monkeypatch.setenv("HQNN_MAX_MEMORY_BYTES", str(2**30))
    cfg = RunConfig(circuit=CircuitConfig(n_qubits=12, layers=10),
                    train=TrainConfig(batch_size=4096))
    with pytest.raises(ResourceError, match=r"over the memory limit of 1\.0 GiB"):
        resources.check(cfg)
    assert resources.check(RunConfig()).fits


def test_the_default_configuration_is_small_and_quick() -> None:
    found = resources.estimate(RunConfig())
    assert found.total_bytes < 2**30 and found.train_seconds < 120


def test_classical_models_cost_no_circuit() -> None:
    cfg = RunConfig(circuit=CircuitConfig(n_qubits=16, encoding="amplitude"))
    from dataclasses import replace
    classical = replace(cfg, model=replace(cfg.model, kind="classical"))
    assert resources.check(classical).construction_bytes == 0


@pytest.mark.parametrize("n_qubits", [11, 12])
def test_construction_estimate_is_within_a_factor_two_of_the_traced_peak(n_qubits) -> None:
    """The estimate against the peak of Python/numpy allocations while building the layer
    (tracemalloc: deterministic, unlike the process RSS on a shared machine)."""
    import tracemalloc

    circuit = CircuitConfig(n_qubits=n_qubits, encoding="amplitude")
    QuantumLayer(CircuitConfig(n_qubits=2))
    tracemalloc.start()
    try:
        QuantumLayer(circuit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimated = resources.construction_bytes(circuit)
    assert estimated / 2 < peak < estimated * 2, (peak, estimated)


def test_sample_count_follows_the_class_subset() -> None:
    cfg = RunConfig(data=DataConfig(name="mnist", classes=(0, 1)))
    assert resources.train_samples(cfg) == 12_000
    assert resources.train_samples(RunConfig(data=DataConfig(train_size=300))) == 300


@pytest.mark.parametrize("circuit,batch", [
    (CircuitConfig(n_qubits=6), 32),
    (CircuitConfig(n_qubits=6, encoding="dense_angle", ansatz="strongly_entangling"), 32),
    (CircuitConfig(n_qubits=6, encoding="basis", ansatz="real_amplitudes"), 32),
    (CircuitConfig(n_qubits=6, reupload=True), 32),
    (CircuitConfig(n_qubits=6, encoding="amplitude"), 32),
    (CircuitConfig(n_qubits=6, encoding="iqp", ansatz="efficient_su2"), 32),
    (CircuitConfig(n_qubits=14), 8192),  # 2**27 amplitudes: past the kernel's 2**26
])
def test_the_time_estimate_knows_the_path_the_layer_takes(circuit, batch) -> None:
    """``simulation_path`` (a pure function of the config) names the path the built layer
    really routes a CPU batch of that size to."""
    layer = QuantumLayer(circuit)
    fused = layer._fused
    inputs = torch.zeros(batch, layer.n_features)
    if fused is None or not fused.applies_to(inputs):
        actual = "engine"
    else:
        actual = "kernel" if fused.kernel is not None else "numpy"
    assert resources.simulation_path(circuit, batch) == actual


def test_the_time_estimate_grows_with_the_work() -> None:
    small = resources.estimate(RunConfig(circuit=CircuitConfig(n_qubits=4)))
    big = resources.estimate(RunConfig(circuit=CircuitConfig(n_qubits=14)))
    longer = resources.estimate(RunConfig(train=TrainConfig(epochs=60)))
    assert small.train_seconds < resources.estimate(RunConfig()).train_seconds < big.train_seconds
    assert longer.train_seconds > resources.estimate(RunConfig()).train_seconds
