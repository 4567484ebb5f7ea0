"""``compile_step``: a whole training step (forward, cross-entropy, backward, optimizer
update) of a small hybrid model in one compiled call.

At a few qubits an eager PyTorch step costs per-operation overhead (dispatch, the autograd
engine, the optimizer's loops), not arithmetic: the circuit itself is a few dozen
microseconds of a millisecond. The JAX peers win there by compiling the whole step; this is
hqnn's equivalent, reusing the fused path's Numba kernel (``simulator.kernel_loops``) inside
one ``step_loops.train_step`` call. From ``threads.PARALLEL_AMPLITUDES`` a call (16 qubits x
32), where the statevector work is the step, the circuit's forward and backward run in the
layer's ``SmallKernel`` instead, its chunks on the cores other processes leave idle
(``threads.threads_for``, by the load of the moment), between the compiled classical
parts. It does what

    opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward(); opt.step()

does, to float rounding, for an ``nn.Sequential`` of ``Linear``, ``ReLU``, ``Tanh`` and one
``QuantumLayer`` with a kernel, and ``torch.optim`` Adam, AdamW or SGD. The parameters are
updated in place through NumPy views, the gradients are left in ``p.grad`` and the
optimizer's own state tensors hold its state, so compiled and ordinary torch steps can
alternate; the hyperparameters are read from ``optimizer.param_groups`` at every call (LR
schedulers keep working).
"""

from __future__ import annotations

import numpy as np
import torch
from numba.typed import List

from hqnn_core.errors import ConfigError, ShapeError
from hqnn_core.learning.layer import QuantumLayer
from hqnn_core.learning.step_loops import (ADAM, LINEAR, QUANTUM, RELU, SGD, TANH, labels_ok,
                                           step_head, step_middle, step_tail, train_step)
from hqnn_core.simulator.kernel import chunk_size
from hqnn_core.simulator.threads import threads_for

_ACTIVATIONS = {torch.nn.ReLU: RELU, torch.nn.Tanh: TANH}
_ADAM_FLAGS = ("amsgrad", "maximize", "capturable", "differentiable")
_SGD_FLAGS = ("maximize", "differentiable")
_SUPPORTED = "an nn.Sequential of Linear, ReLU, Tanh and one QuantumLayer"


def compile_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 loss: str = "cross_entropy") -> "CompiledStep":
    """A callable ``step(x, y) -> float`` doing one training step of ``model`` with
    ``optimizer`` on a batch (x (B, F) float, y (B,) class indices), returning the loss;
    a ``ConfigError`` names what a model or optimizer has that it does not support."""
    return CompiledStep(model, optimizer, loss)


class CompiledStep:
    """One compiled training step of a qualifying model (see ``compile_step``)."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 loss: str) -> None:
        if loss != "cross_entropy":
            raise ConfigError(f"compile_step supports loss='cross_entropy' only, got {loss!r}.")
        self.model, self.optimizer = model, optimizer
        self.params, ops = _model_ops(model)
        self.ops = np.array(ops, dtype=np.int64)
        self.dtype = self.params[0].dtype
        self.n_inputs, self.n_classes = int(self.ops[0, 4]), int(self.ops[-1, 3])
        self._linear_first = self.ops[0, 0] == LINEAR
        self._kernel_args = _kernel_arguments(model, self.dtype)
        self._quantum = int(np.flatnonzero(self.ops[:, 0] == QUANTUM)[0])
        layer = model[self._quantum]
        self._n_qubits, self._kernel = layer.n_qubits, layer._fused.kernel
        self._bind_optimizer()
        self._ptrs: tuple[int, ...] = ()

    def _bind_optimizer(self) -> None:
        opt = self.optimizer
        if type(opt) in (torch.optim.Adam, torch.optim.AdamW):
            self.kind, flags = ADAM, _ADAM_FLAGS
        elif type(opt) is torch.optim.SGD:
            self.kind, flags = SGD, _SGD_FLAGS
        else:
            raise ConfigError(f"compile_step supports torch.optim.Adam, AdamW and SGD, not "
                              f"{type(opt).__name__}.")
        if opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks:
            raise ConfigError("compile_step does not run optimizer step hooks; remove them "
                              "or train with the torch loop.")
        position = {id(p): i for i, p in enumerate(self.params)}
        groups, seen = [], []
        for group in opt.param_groups:
            for flag in flags:
                if group.get(flag):
                    raise ConfigError(f"compile_step does not support "
                                      f"{type(opt).__name__}({flag}=True).")
            if any(id(p) not in position for p in group["params"]):
                raise ConfigError("The optimizer holds parameters that are not the model's; "
                                  "compile_step needs an optimizer of exactly model.parameters().")
            groups.append(np.array([position[id(p)] for p in group["params"]], dtype=np.int64))
            seen += groups[-1].tolist()
        if sorted(seen) != list(range(len(self.params))):
            raise ConfigError("The optimizer must hold every parameter of the model once; "
                              "build it from model.parameters().")
        self._groups = groups
        self._hyper = np.zeros((len(self.params), 6))
        fused = any(g.get("fused") for g in opt.param_groups)
        wide = not fused and torch.get_default_dtype() == torch.float64
        self._steps = np.zeros(len(self.params), np.float64 if wide else np.float32)
        self._state: list[tuple] = [()] * len(self.params)
        self._lists: tuple | None = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One training step on the batch (x, y); returns the batch's mean loss."""
        xs, ys = self._batch(x, y)
        if len(self.optimizer.param_groups) != len(self._groups):
            self._bind_optimizer()
        ptrs = tuple(p.data_ptr() for p in self.params)
        if ptrs != self._ptrs:
            self._bind_params(ptrs)
        fresh = self._sync_state()
        self._read_hyperparameters(fresh)
        params, grads, first, second = self._lists  # type: ignore[misc]
        if threads_for(self._n_qubits, xs.shape[0]) > 1:
            loss = self._step_in_groups(xs, ys)
        else:
            chunk = chunk_size(self._n_qubits, xs.shape[0], xs.dtype)
            work = self._kernel.workspace(4, 2 * 2**self._n_qubits * chunk, xs.dtype)
            loss = train_step(xs, ys, self.n_classes, self.ops, params, grads, first, second,
                              self._steps, self.kind, self._hyper, *self._kernel_args, chunk,
                              work)
        if loss < 0:
            raise ShapeError(f"Labels must be class indices in [0, {self.n_classes}); "
                             f"got {int(ys.min())}..{int(ys.max())}.")
        for p, grad in zip(self.params, self._grads):
            if p.grad is not grad:
                p.grad = grad
        self.optimizer._opt_called = True  # type: ignore[attr-defined]  # as opt.step() marks it
        if self.kind == SGD and fresh:
            for i in fresh:
                self.optimizer.state[self.params[i]]["momentum_buffer"] = self._state[i][0]
        return float(loss)

    def _step_in_groups(self, xs: np.ndarray, ys: np.ndarray) -> float:
        """``train_step`` with the circuit's forward and backward on the kernel's worker
        threads (``SmallKernel``: chunks in ``threads_for`` groups), for large circuits."""
        if not labels_ok(ys, self.n_classes):
            return -1.0
        params, grads, first, second = self._lists  # type: ignore[misc]
        row = self.ops[self._quantum]
        acts, xq = step_head(xs, self.ops, params)
        out, _, tables = self._kernel.forward(xq, params[row[1]], with_state=False)
        loss, g = step_middle(acts, out, ys, self.ops, params, grads)
        need = bool(self._quantum > 0 or row[2] >= 0)
        grad_x, grad_w = self._kernel.backward(g, tables, need, True)
        step_tail(grad_x, grad_w, acts, self.ops, params, grads, first, second, self._steps,
                  self.kind, self._hyper)
        return loss

    def _batch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.n_inputs:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ShapeError(f"The compiled step expects x of shape (batch, {self.n_inputs}), "
                             f"got {shape}.")
        if not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],) or \
                y.is_floating_point() or y.is_complex():
            raise ShapeError(f"The compiled step expects y as ({x.shape[0]},) integer class "
                             "indices.")
        if x.dtype != self.dtype:
            if self._linear_first:
                raise ShapeError(f"x is {x.dtype} but the model is {self.dtype}.")
            x = x.to(self.dtype)
        xs = np.ascontiguousarray(x.detach().cpu().numpy())
        return xs, np.ascontiguousarray(y.cpu().numpy(), dtype=np.int64)

    def _bind_params(self, ptrs: tuple[int, ...]) -> None:
        """NumPy views of the parameters and of gradient tensors (left in ``p.grad``)."""
        for p in self.params:
            if p.dtype != self.dtype or p.device.type != "cpu" or not p.is_contiguous():
                raise ConfigError("compile_step needs the model's parameters on the CPU, "
                                  f"contiguous and {self.dtype}, as they were when compiled.")
        self._grads = [torch.zeros_like(p) for p in self.params]
        self._views = (List([_flat(p) for p in self.params]),
                       List([_flat(g) for g in self._grads]))
        self._ptrs, self._lists = ptrs, None

    def _sync_state(self) -> list[int]:
        """The optimizer's state tensors as the step's storage (created as torch creates
        them where missing); the SGD parameters whose momentum buffer starts now."""
        state, fresh, changed = self.optimizer.state, [], self._lists is None
        momentum = self.kind == SGD and any(g["momentum"] for g in self.optimizer.param_groups)
        for i, p in enumerate(self.params):
            own, held = state.get(p), self._state[i]
            if self.kind == ADAM:
                if own and held and own.get("exp_avg") is held[0] and \
                        own.get("exp_avg_sq") is held[1] and own.get("step") is held[2]:
                    continue
                own = state[p]
                first = _adopt(own.get("exp_avg"), p)
                second = _adopt(own.get("exp_avg_sq"), p)
                self._steps[i] = float(own["step"]) if "step" in own else 0.0
                step = torch.from_numpy(self._steps)[i]
                own.update(exp_avg=first, exp_avg_sq=second, step=step)
                self._state[i] = (first, second, step)
            else:
                buffer = own.get("momentum_buffer") if own else None
                if held and (buffer is held[0] or (not momentum and buffer is None)):
                    continue
                if momentum and buffer is None:
                    fresh.append(i)
                self._state[i] = (_adopt(buffer, p),)
                if buffer is not None and self._state[i][0] is not buffer:
                    state[p]["momentum_buffer"] = self._state[i][0]
            changed = True
        if changed:
            params, grads = self._views
            first = List([_flat(s[0]) for s in self._state])
            second = List([_flat(s[1 % len(s)]) for s in self._state])
            self._lists = (params, grads, first, second)
        return fresh

    def _read_hyperparameters(self, fresh: list[int]) -> None:
        """One row per parameter from its group, as ``step_loops._update`` reads them."""
        opt, hyper = self.optimizer, self._hyper
        decoupled = type(opt) is torch.optim.AdamW
        flags = _ADAM_FLAGS if self.kind == ADAM else _SGD_FLAGS
        for group, index in zip(opt.param_groups, self._groups):
            if any(group.get(flag) for flag in flags):
                self._bind_optimizer()  # raises the ConfigError
            if self.kind == ADAM:
                beta1, beta2 = group["betas"]
                row = (group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                       decoupled or group.get("decoupled_weight_decay", False))
            else:
                row = (group["lr"], group["momentum"], group["dampening"],
                       group["weight_decay"], group["nesterov"], 0.0)
            hyper[index] = [float(v) for v in row]
        if self.kind == SGD:
            hyper[fresh, 5] = 1.0


def _flat(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().reshape(-1)


def _adopt(t: torch.Tensor | None, p: torch.Tensor) -> torch.Tensor:
    """An optimizer state tensor usable as the step's storage: ``t`` itself when it is a
    contiguous CPU tensor like ``p``, else a copy (zeros when there is none)."""
    if t is None:
        return torch.zeros_like(p, memory_format=torch.contiguous_format)
    if t.dtype == p.dtype and t.device.type == "cpu" and t.is_contiguous() and t.shape == p.shape:
        return t
    return t.detach().to("cpu", p.dtype).contiguous().reshape(p.shape).clone()


def _model_ops(model: torch.nn.Module) -> tuple[list[torch.nn.Parameter], list[tuple]]:
    """The model's parameters and its ``step_loops`` operation rows."""
    if not isinstance(model, torch.nn.Sequential):
        raise ConfigError(f"compile_step takes {_SUPPORTED}, got {type(model).__name__}.")
    params: list[torch.nn.Parameter] = []

    def index(p: torch.nn.Parameter | None) -> int:
        if p is None:
            return -1
        params.append(p)
        return len(params) - 1

    ops, width, quantum = [], None, 0
    for i, module in enumerate(model):
        if module._forward_hooks or module._forward_pre_hooks or module._backward_hooks:
            raise ConfigError(f"compile_step does not run module hooks (module {i} has one).")
        if type(module) is torch.nn.Linear:
            rows, cols = module.out_features, module.in_features
            ops.append((LINEAR, index(module.weight), index(module.bias), rows, cols))
        elif type(module) in _ACTIVATIONS:
            ops.append((_ACTIVATIONS[type(module)], 0, 0, width or 0, width or 0))
            rows, cols = width, width
        elif isinstance(module, QuantumLayer):
            quantum += 1
            _check_layer(module)
            rows, cols = module.n_outputs, module.n_features
            ops.append((QUANTUM, index(module.weights), index(module.input_weights), rows, cols))
        else:
            raise ConfigError(f"compile_step does not support {type(module).__name__} (module "
                              f"{i} of the model); it takes {_SUPPORTED}.")
        if width is not None and cols != width:
            raise ConfigError(f"Module {i} of the model takes {cols} features but gets {width}.")
        width = rows
    if quantum != 1:
        raise ConfigError(f"compile_step takes {_SUPPORTED}; the model has {quantum}.")
    if ops[0][0] in (RELU, TANH):
        raise ConfigError("compile_step needs a Linear or the QuantumLayer first.")
    if len({id(p) for p in params}) != len(params):
        raise ConfigError("compile_step does not support parameters shared between modules.")
    if not all(p.requires_grad for p in params):
        raise ConfigError("compile_step trains every parameter; this model has frozen ones.")
    if len({p.dtype for p in params}) != 1 or params[0].dtype not in (torch.float32,
                                                                       torch.float64):
        raise ConfigError("compile_step needs every parameter float32, or every one float64.")
    return params, ops


def _check_layer(layer: QuantumLayer) -> None:
    path = layer._fused
    if layer.backend != "exact":
        raise ConfigError(f"compile_step needs the exact backend, not {layer.backend!r}.")
    if path is None or path.kernel is None:
        raise ConfigError("This QuantumLayer's circuit has no compiled kernel (re-uploading "
                          "layers, or gates the fused path does not take); train it with the "
                          "torch loop.")
    encoding = layer.config.encoding if layer.config is not None else None
    if encoding in ("amplitude", "basis"):
        raise ConfigError(f"compile_step does not support the {encoding} encoding.")
    if path.kernel.maps(np.float64)[1].shape[0] != layer.n_features:
        raise ConfigError("compile_step needs one circuit input per feature of the layer.")


def _kernel_arguments(model: torch.nn.Sequential, dtype: torch.dtype) -> tuple:
    """The quantum layer's kernel tables in the order ``train_step`` takes them."""
    layer = next(m for m in model if isinstance(m, QuantumLayer))
    kernel = layer._fused.kernel  # type: ignore[union-attr]
    real = np.float32 if dtype == torch.float32 else np.float64
    cdtype = np.complex64 if real is np.float32 else np.complex128
    e_const, e_in, e_w, l_const, l_w, value = kernel.maps(real)
    mats = np.zeros((len(kernel.depths), kernel.n, 1 + kernel.kinds.shape[1], 2, 2), cdtype)
    return (e_const, e_in, e_w, l_const, l_w, kernel.encoder_kinds, kernel.kinds,
            kernel.depths, kernel.ops, kernel.perms, kernel.inverses, kernel.readout_index,
            value, kernel.n_outputs, mats, np.empty((0, 0), cdtype))
