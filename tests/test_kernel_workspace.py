"""The kernel's kept scratch arrays (``SmallKernel.workspace``): the same bits as fresh
allocations, never aliased by what a call returns or keeps, one per thread, and gone with
their thread or their kernel."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import weakref

import numpy as np
import pytest
import torch

from hqnn_core import CircuitConfig, QuantumLayer
from hqnn_core.learning.compiled_step import compile_step
from hqnn_core.simulator import kernel as kernel_module
from hqnn_core.simulator.kernel_loops import PERMUTE

# Circuits with an even (0, 2) and an odd (1, 3) number of permutations: the forward starts
# in the workspace or in the fresh array so that the final state always lands in the fresh one.
CONFIGS = [
    dict(n_qubits=4, layers=1, entanglement="circular", measurement="zz"),
    dict(n_qubits=4, layers=2, entanglement="circular", measurement="z"),
    dict(n_qubits=5, layers=2, entanglement="full", measurement="zz", ansatz="efficient_su2"),
    dict(n_qubits=3, layers=3, entanglement="linear", measurement="probs",
         ansatz="real_amplitudes"),
]


def _kernel(config: dict):
    layer = QuantumLayer(CircuitConfig(encoding="angle", **config), dtype=torch.float64, seed=3)
    return layer, layer._fused.kernel


def _run(kernel, x: np.ndarray, w: np.ndarray, grad: np.ndarray, need: tuple[bool, bool]):
    out, state, tables = kernel.forward(x, w)
    gx, gw = kernel.backward(grad, tables, *need)
    return out, state, gx, gw, tables


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c['n_qubits']}q-{c['layers']}")
def test_the_workspace_changes_no_bit_and_is_never_what_a_call_keeps(config, monkeypatch):
    _, kernel = _kernel(config)
    permutations = int((kernel.ops[:, 0] == PERMUTE).sum())
    gen = np.random.default_rng(4)
    x = gen.uniform(0, 3, (70, kernel.maps(np.float64)[1].shape[0]))  # 2 chunks in float64
    w = gen.normal(size=kernel.maps(np.float64)[2].shape[0])
    grad = gen.normal(size=(70, kernel.n_outputs))
    for need in ((True, True), (False, True), (True, False)):
        monkeypatch.setattr(kernel_module, "WORKSPACE_BYTES", 2**40)  # never: fresh arrays
        fresh = _run(kernel, x, w, grad, need)
        monkeypatch.setattr(kernel_module, "WORKSPACE_BYTES", 0)  # always
        kept = [_run(kernel, x, w, grad, need) for _ in range(2)]  # the second reuses it
        work = kernel.workspace(4, 2 * 2**kernel.n * 64, np.float64)
        assert work.size >= 4 * 2 * 2**kernel.n * 64, permutations
        for run in kept:
            for ours, reference in zip(run[:4], fresh[:4]):
                assert np.array_equal(ours, reference)
            for _, _, planar in run[4].chunks:  # the final states the backward kept
                assert not np.shares_memory(planar, work)


def test_a_kernel_keeps_one_workspace_per_thread_and_none_for_small_states(monkeypatch):
    _, kernel = _kernel(CONFIGS[1])
    small = kernel.workspace(4, kernel_module.WORKSPACE_BYTES // 8 - 1, np.float64)
    assert small.size == 0  # below the threshold the loops allocate (no faults there)
    size = kernel_module.WORKSPACE_BYTES // 4
    first = kernel.workspace(4, size, np.float32)
    assert first.size == 4 * size and first.dtype == np.float32
    assert kernel.workspace(2, size, np.float32) is first  # the largest is kept and reused
    assert kernel.workspace(4, size, np.float64) is not first  # one per dtype
    bigger = kernel.workspace(8, size, np.float32)
    assert bigger.size == 8 * size and kernel.workspace(4, size, np.float32) is bigger
    other: list[np.ndarray] = []
    thread = threading.Thread(target=lambda: other.append(kernel.workspace(4, size, np.float32)))
    thread.start()
    thread.join()
    assert other[0] is not bigger and not np.shares_memory(other[0], bigger)
    gone = weakref.ref(other.pop())
    gc.collect()
    assert gone() is None  # a finished thread's workspace (a Streamlit rerun's) is freed


def test_copies_and_pickles_get_their_own_workspace_and_a_dropped_kernel_frees_it():
    layer, kernel = _kernel(CONFIGS[1])
    size = kernel_module.WORKSPACE_BYTES
    held = kernel.workspace(4, size, np.float64)
    twin = copy.deepcopy(layer)
    loaded = pickle.loads(pickle.dumps(layer))
    x = torch.rand(3, 4, dtype=torch.float64)
    for other in (twin, loaded):
        assert other._fused.kernel.workspace(4, size, np.float64) is not held
        torch.testing.assert_close(other(x), layer(x), atol=0, rtol=0)
    gone = weakref.ref(held)
    del layer, kernel, held
    gc.collect()
    assert gone() is None


def test_compile_step_gives_the_same_bits_with_and_without_the_workspace(monkeypatch):
    """The one-call step (``train_step``) hands the workspace to every chunk's forward and
    backward: 8 qubits x 150 in float64 is 3 chunks."""
    results = []
    for threshold in (2**40, 0):
        monkeypatch.setattr(kernel_module, "WORKSPACE_BYTES", threshold)
        torch.manual_seed(0)
        layer = QuantumLayer(CircuitConfig(n_qubits=8, layers=2, measurement="zz"),
                             dtype=torch.float64, seed=1)
        model = torch.nn.Sequential(torch.nn.Linear(6, 8, dtype=torch.float64), layer,
                                    torch.nn.Linear(layer.n_outputs, 3, dtype=torch.float64))
        step = compile_step(model, torch.optim.Adam(model.parameters(), lr=0.05))
        gen = torch.Generator().manual_seed(5)
        x = torch.rand(150, 6, dtype=torch.float64, generator=gen)
        y = torch.randint(0, 3, (150,), generator=gen)
        losses = [step(x, y) for _ in range(3)]
        results.append((losses, [p.detach().clone() for p in model.parameters()]))
    (losses_fresh, params_fresh), (losses_kept, params_kept) = results
    assert losses_fresh == losses_kept
    for a, b in zip(params_fresh, params_kept):
        assert torch.equal(a, b)
