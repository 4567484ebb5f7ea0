"""The compiled small-circuit kernel against the NumPy fused path, the torch engine and Qiskit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from hqnn_core import CircuitConfig, QuantumLayer
from hqnn_core.simulator.kernel import MIN_CHUNK, SIMD_CHUNK, chunk_size, sparse_readout

CONFIGS = [
    dict(n_qubits=4, encoding="angle", ansatz="hardware_efficient", layers=2,
         entanglement="circular", measurement="z"),
    dict(n_qubits=3, encoding="angle", ansatz="real_amplitudes", layers=3,
         entanglement="linear", measurement="probs"),
    dict(n_qubits=5, encoding="dense_angle", ansatz="efficient_su2", layers=2,
         entanglement="full", measurement="zz"),
    dict(n_qubits=2, encoding="angle", ansatz="hardware_efficient", layers=2,
         entanglement="linear", measurement="probs", rotation="x"),
    dict(n_qubits=4, encoding="angle", ansatz="strongly_entangling", layers=3,
         entanglement="full", measurement="z", rotation="x"),
    dict(n_qubits=6, encoding="angle", ansatz="hardware_efficient", layers=2,
         entanglement="circular", measurement="z", rotation="x"),
    # One layer: everything before the CNOTs is one step (the encoding's), the CNOTs go into
    # the readout, and the kernel runs no layer after the encoding.
    dict(n_qubits=4, encoding="angle", ansatz="hardware_efficient", layers=1,
         entanglement="circular", measurement="zz"),
    dict(n_qubits=3, encoding="dense_angle", ansatz="real_amplitudes", layers=1,
         entanglement="linear", measurement="probs"),
]


def _layer(config: dict, dtype: torch.dtype = torch.float64) -> QuantumLayer:
    layer = QuantumLayer(CircuitConfig(**config), dtype=dtype, seed=3)
    assert layer._fused is not None and layer._fused.kernel is not None
    return layer


def _outputs_and_grads(layer: QuantumLayer, x: torch.Tensor, weight: torch.Tensor):
    xi = x.clone().requires_grad_()
    out = layer(xi)
    gx, gw = torch.autograd.grad((out * weight).sum(), (xi, layer.weights))
    return out.detach(), gx, gw


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c['n_qubits']}q-{c['measurement']}")
def test_kernel_equals_numpy_path_and_engine_to_1e10(config: dict) -> None:
    layer = _layer(config)
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(5, layer.n_features, dtype=torch.float64, generator=gen) * 3
    weight = torch.randn(5, layer.n_outputs, dtype=torch.float64, generator=gen)
    kernel = _outputs_and_grads(layer, x, weight)
    fused, layer._fused.kernel = layer._fused.kernel, None
    numpy_path = _outputs_and_grads(layer, x, weight)
    layer._fused.kernel, layer.use_fused = fused, False
    engine = _outputs_and_grads(layer, x, weight)
    for ours, numpy_ref, engine_ref in zip(kernel, numpy_path, engine):
        torch.testing.assert_close(ours, numpy_ref, atol=1e-10, rtol=0)
        torch.testing.assert_close(ours, engine_ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("config", CONFIGS[:3] + CONFIGS[-2:],
                         ids=lambda c: f"{c['n_qubits']}q-{c['layers']}layers")
def test_kernel_probabilities_match_qiskit_statevector(config: dict) -> None:
    layer = _layer({**config, "measurement": "probs"})
    x = torch.rand(2, layer.n_features, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(1)) * 3
    with torch.no_grad():
        ours = layer(x).numpy()
    for i in range(2):
        reference = Statevector(layer.bound_circuit(x[i:i + 1])).probabilities()
        np.testing.assert_allclose(np.sort(ours[i]), np.sort(reference), atol=1e-12)
        np.testing.assert_allclose(ours[i].sum(), 1.0, atol=1e-12)


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[-2]], ids=["2-layers", "1-layer"])
def test_kernel_passes_gradcheck(config: dict) -> None:
    layer = _layer(config)
    x = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    def f(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, {"weights": weights}, (inputs,))

    w = layer.weights.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(f, (x.requires_grad_(), w))


def test_float32_kernel_agrees_with_float64() -> None:
    single, double = _layer(CONFIGS[0], torch.float32), _layer(CONFIGS[0])
    x = torch.rand(8, 4, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(single(x).double(), double(x.double()), atol=1e-5, rtol=0)


def test_kernel_is_used_only_where_it_applies() -> None:
    reupload = QuantumLayer(CircuitConfig(n_qubits=4, layers=2, reupload=True))
    assert reupload._fused is not None and reupload._fused.kernel is None
    for n in (2, 8, 12, 14, 16, 17):
        assert QuantumLayer(CircuitConfig(n_qubits=n, layers=2))._fused.kernel is not None
    for layers in (1, 2, 3):
        assert QuantumLayer(CircuitConfig(n_qubits=4, layers=layers))._fused.kernel is not None
    wide = QuantumLayer(CircuitConfig(n_qubits=14, layers=2, reupload=True))
    assert wide._fused is None  # the NumPy path stops at 12 qubits; the engine runs it
    kernel16 = QuantumLayer(CircuitConfig(n_qubits=16, layers=2))._fused
    assert kernel16.applies_to(torch.zeros(1024, 16))  # up to 2**26 amplitudes: the kernel
    assert not kernel16.applies_to(torch.zeros(1025, 16))  # beyond, the engine


@pytest.mark.parametrize("n, batch", [(8, 1), (8, 37), (12, 3), (12, 20), (4, 1500), (14, 3),
                                      (16, 2), (12, 520)])  # 12 x 520: above 2**21 amplitudes
def test_larger_circuits_in_the_kernel_match_the_engine(n: int, batch: int) -> None:
    """Also over several chunks of the batch (4 x 1500 and 12 x 520, the last chunk
    partial), each chunk's tables kept for its backward."""
    layer = _layer(dict(n_qubits=n, encoding="angle", ansatz="hardware_efficient", layers=2,
                        entanglement="circular", measurement="z"))
    x = torch.rand(batch, n, dtype=torch.float64, generator=torch.Generator().manual_seed(6)) * 3
    assert layer._fused.applies_to(x)
    weight = torch.randn(batch, n, dtype=torch.float64)
    out, gx, gw = _outputs_and_grads(layer, x, weight)
    layer.use_fused = False
    for ours, ref in zip((out, gx, gw), _outputs_and_grads(layer, x, weight)):
        torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("n, batch", [(12, 520), (17, 16)])
def test_chunks_on_worker_threads_give_the_same_bits_as_one_thread(n, batch, monkeypatch) -> None:
    """From 2**21 amplitudes a call's chunks run in groups on worker threads (12 x 520: 17
    chunks in float64, 17 x 16: 2); any number of groups gives exactly one thread's outputs
    and gradients, and at 17 qubits (past the old 16-qubit limit) the engine's to 1e-10."""
    from hqnn_core.simulator import kernel

    layer = _layer(dict(n_qubits=n, encoding="angle", ansatz="hardware_efficient", layers=2,
                        entanglement="circular", measurement="z"))
    x = torch.rand(batch, n, dtype=torch.float64, generator=torch.Generator().manual_seed(8)) * 3
    weight = torch.randn(batch, n, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    results = {}
    for workers in (1, 2, 3):
        monkeypatch.setattr(kernel, "threads_for", lambda n_qubits, b, w=workers: w)
        results[workers] = _outputs_and_grads(layer, x, weight)
    for workers in (2, 3):
        for ours, one in zip(results[workers], results[1]):
            assert torch.equal(ours, one)
    if n > 16:
        layer.use_fused = False
        for ours, ref in zip(results[2], _outputs_and_grads(layer, x, weight)):
            torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)


def test_the_batch_runs_in_cache_sized_chunks() -> None:
    assert chunk_size(4, 32, np.float32) == 32  # small batches: one call, as before
    assert chunk_size(8, 1024, np.float32) == 128 and chunk_size(8, 1024, np.float64) == 64
    assert chunk_size(12, 256, np.float32) == SIMD_CHUNK  # beyond L2: enough for the SIMD lanes
    assert chunk_size(16, 32, np.float32) == MIN_CHUNK
    assert chunk_size(12, 520, np.float64) < 520 and chunk_size(4, 1500, np.float64) < 1500
    assert 520 % chunk_size(12, 520, np.float64) != 0  # a partial last chunk is tested above
    layer = _layer(dict(n_qubits=8, encoding="angle", ansatz="hardware_efficient", layers=2,
                        entanglement="circular", measurement="zz"))
    x = torch.rand(150, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    path = layer._fused.kernel
    out, _, tables = path.forward(x.numpy(), layer.weights.detach().numpy())
    assert [start for start, _, _ in tables.chunks] == [0, 64, 128]
    one = [path.forward(x[i:i + 1].numpy(), layer.weights.detach().numpy())[0] for i in (0, 149)]
    np.testing.assert_allclose(out[[0, 149]], np.concatenate(one), atol=1e-13, rtol=0)


def test_kernel_weights_only_and_inputs_only_gradients() -> None:
    layer = _layer(CONFIGS[0])
    x = torch.rand(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    for need_x, need_w in itertools.product([True, False], repeat=2):
        if not (need_x or need_w):
            continue
        layer.weights.requires_grad_(need_w)
        xi = x.clone().requires_grad_(need_x)
        wanted = [t for t, need in ((xi, need_x), (layer.weights, need_w)) if need]
        grads = torch.autograd.grad(layer(xi).sum(), wanted)
        layer.use_fused = False
        reference = torch.autograd.grad(layer(xi).sum(), wanted)
        layer.use_fused = True
        for a, b in zip(grads, reference):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    layer.weights.requires_grad_(True)


def test_a_forked_child_runs_the_chunks_on_its_own_workers(monkeypatch) -> None:
    """A process forked after the pool exists (a DataLoader worker, multiprocessing) would
    wait forever on the parent's threads; it gets its own."""
    import multiprocessing

    from hqnn_core.simulator import kernel

    layer = _layer(dict(n_qubits=12, encoding="angle", ansatz="hardware_efficient", layers=2,
                        entanglement="circular", measurement="z"))
    x = torch.rand(520, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    monkeypatch.setattr(kernel, "threads_for", lambda n_qubits, b: 2)
    with torch.no_grad():
        expected = layer(x)  # the parent's pool now exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        result = pool.apply_async(_forward_in_child, (layer, x))
        got = result.get(timeout=120)
    assert np.array_equal(got, expected.numpy())


def _forward_in_child(layer: QuantumLayer, x: torch.Tensor) -> torch.Tensor:
    from hqnn_core.simulator import kernel

    kernel.threads_for = lambda n_qubits, b: 2  # the chunks in two groups here too
    with torch.no_grad():
        return layer(x).numpy()  # a tensor would travel through shared memory


def test_a_circuit_without_weights_runs_in_the_kernel() -> None:
    """A user's feature map alone (inputs, no weights, one step): the kernel, against
    Qiskit's Statevector and gradcheck."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    a = ParameterVector("a", 3)
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.ry(a[q], q)
        qc.rz(0.5 * a[q], q)
    layer = QuantumLayer.from_circuit(qc, list(a), [], dtype=torch.float64)
    assert layer._fused is not None and layer._fused.kernel is not None
    x = torch.rand(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ours = layer(x).numpy()
    for i in range(3):
        bound = qc.assign_parameters(dict(zip(a, x[i].tolist())))
        np.testing.assert_allclose(ours[i], Statevector(bound).probabilities(), atol=1e-12)
    assert torch.autograd.gradcheck(layer, (x.requires_grad_(),))


@pytest.mark.parametrize("readout", [
    np.eye(8),  # probabilities: one output per basis state
    1 - 2 * np.indices((16, 4))[0] % 2.0,  # Z strings: every output from every state
    np.zeros((4, 3)),
    np.where(np.random.default_rng(2).random((32, 6)) < 0.3,
             np.random.default_rng(3).normal(size=(32, 6)), 0.0),
])
def test_the_sparse_readout_holds_each_rows_nonzeros_in_order(readout: np.ndarray) -> None:
    index, value = sparse_readout(readout)
    width = max(1, int((readout != 0).sum(1).max()))
    assert index.shape == value.shape == (readout.shape[0], width)
    assert index.dtype == np.int64
    for row, (cols, weights) in enumerate(zip(index, value)):
        used = np.flatnonzero(readout[row])
        np.testing.assert_array_equal(cols[:used.size], used)
        np.testing.assert_array_equal(weights[:used.size], readout[row, used])
        assert not weights[used.size:].any() and not cols[used.size:].any()
