"""The Numba loops of ``compiled_step``: a whole training step in one compiled call.

The model is a stack of operations ``ops`` (L, 5) int64 rows ``(code, a, b, rows, cols)``:
``(LINEAR, weight, bias or -1, out, in)``, ``(RELU | TANH, ...)`` and ``(QUANTUM, weights,
input weights or -1, ...)``; ``a`` and ``b`` index the flat parameter arrays ``params`` (views
of the torch parameters, updated in place). The quantum layer runs ``kernel_loops``'
forward and adjoint backward; the loss is the batch mean of the cross-entropy; the update is
torch's Adam (``adam`` rows: lr, beta1, beta2, eps, weight decay, decoupled) or SGD (lr,
momentum, dampening, weight decay, nesterov, first step), written as torch writes them.

``train_step`` is the whole step in this thread. It is composed of ``step_head`` (forward to
the circuit's inputs), the circuit's forward, ``step_middle`` (the rest of the forward, the
loss and its gradient back to the circuit's outputs), the circuit's backward and
``step_tail`` (the rest of the backward and the update), so that a caller can run the two
circuit halves elsewhere: ``compiled_step`` runs them on worker threads for large circuits.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.typed import List

from hqnn_core.simulator.kernel_loops import backward_loops, forward_loops

LINEAR, RELU, TANH, QUANTUM = 0, 1, 2, 3
ADAM, SGD = 0, 1
_REDUCE = {"reassoc", "contract", "nsz"}


@numba.njit(cache=True, fastmath=_REDUCE)
def _linear(h: np.ndarray, w: np.ndarray, bias: np.ndarray, has_bias: bool) -> np.ndarray:
    """h (B, I) @ w.T (O, I) + bias (O,)."""
    out = np.empty((h.shape[0], w.shape[0]), dtype=h.dtype)
    for b in range(h.shape[0]):
        row = h[b]
        for o in range(w.shape[0]):
            col = w[o]
            total = 0.0
            for i in range(w.shape[1]):
                total += row[i] * col[i]
            out[b, o] = total + bias[o] if has_bias else total
    return out


@numba.njit(cache=True, fastmath=_REDUCE)
def _linear_backward(g: np.ndarray, h: np.ndarray, w: np.ndarray, grad_w: np.ndarray,
                     grad_b: np.ndarray, has_bias: bool, need_input: bool) -> np.ndarray:
    """Fills grad_w (O, I) = g.T @ h and grad_b (O,) = g.sum(0); returns g @ w (B, I)."""
    batch, rows, cols = g.shape[0], w.shape[0], w.shape[1]
    for o in range(rows):
        acc = np.zeros(cols)
        total = 0.0
        for b in range(batch):
            scale, row = g[b, o], h[b]
            total += scale
            for i in range(cols):
                acc[i] += scale * row[i]
        for i in range(cols):
            grad_w[o, i] = acc[i]
        if has_bias:
            grad_b[o] = total
    out = np.zeros((batch, cols if need_input else 0), dtype=g.dtype)
    if need_input:
        for b in range(batch):
            for o in range(rows):
                scale, col, dest = g[b, o], w[o], out[b]
                for i in range(cols):
                    dest[i] += scale * col[i]
    return out


@numba.njit(cache=True)
def _activation(code: int, h: np.ndarray) -> np.ndarray:
    """relu(h) or tanh(h), in h's dtype."""
    out = np.empty_like(h)
    flat, dest = h.reshape(-1), out.reshape(-1)
    for i in range(flat.shape[0]):
        dest[i] = (flat[i] if flat[i] > 0 else 0) if code == RELU else np.tanh(flat[i])
    return out


@numba.njit(cache=True)
def _activation_backward(code: int, g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The gradient through relu or tanh from their outputs (as torch: g where relu > 0,
    g (1 - tanh**2))."""
    res = np.empty_like(g)
    flat, y, dest = g.reshape(-1), out.reshape(-1), res.reshape(-1)
    for i in range(flat.shape[0]):
        if code == RELU:
            dest[i] = flat[i] if y[i] > 0 else 0
        else:
            dest[i] = flat[i] * (1 - y[i] * y[i])
    return res


@numba.njit(cache=True)
def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean cross-entropy of logits (B, C) for labels y (B,) and its gradient."""
    batch, classes = logits.shape
    grad = np.empty_like(logits)
    loss = 0.0
    for b in range(batch):
        top = logits[b, 0]
        for c in range(classes):
            top = max(top, logits[b, c])
        total = 0.0
        for c in range(classes):
            total += np.exp(logits[b, c] - top)
        loss += top + np.log(total) - logits[b, y[b]]
        for c in range(classes):
            grad[b, c] = (np.exp(logits[b, c] - top) / total - (c == y[b])) / batch
    return loss / batch, grad


@numba.njit(cache=True)
def _update(kind: int, params: List, grads: List, first: List, second: List,
            steps: np.ndarray, hyper: np.ndarray) -> None:
    """Every parameter's optimizer update, in place (torch's single-tensor formulas)."""
    for p in range(len(params)):
        param, grad, m, v, h = params[p], grads[p], first[p], second[p], hyper[p]
        if kind == ADAM:
            lr, beta1, beta2, eps, decay, decoupled = h[0], h[1], h[2], h[3], h[4], h[5]
            steps[p] += 1
            step = np.float64(steps[p])
            if decay != 0 and decoupled:
                for i in range(param.shape[0]):
                    param[i] *= 1 - lr * decay
            coupled = decay if not decoupled else 0.0
            step_size = lr / (1 - beta1**step)
            root = (1 - beta2**step) ** 0.5
            for i in range(param.shape[0]):
                g = grad[i] + coupled * param[i] if coupled != 0 else grad[i]
                m[i] += (1 - beta1) * (g - m[i])  # torch's lerp (weight < 0.5)
                v[i] = v[i] * beta2 + (1 - beta2) * g * g
                param[i] -= step_size * m[i] / (np.sqrt(v[i]) / root + eps)
        else:
            lr, momentum, dampening, decay, nesterov, fresh = h[0], h[1], h[2], h[3], h[4], h[5]
            for i in range(param.shape[0]):
                g = grad[i] + decay * param[i] if decay != 0 else grad[i]
                if momentum != 0:
                    if fresh:
                        m[i] = g
                    else:
                        m[i] = m[i] * momentum + (1 - dampening) * g
                    g = g + momentum * m[i] if nesterov else m[i]
                param[i] -= lr * g


@numba.njit(cache=True)
def labels_ok(y: np.ndarray, n_classes: int) -> bool:
    """Whether every label is a class index in [0, n_classes)."""
    for b in range(y.shape[0]):
        if y[b] < 0 or y[b] >= n_classes:
            return False
    return True


@numba.njit(cache=True)
def _quantum_row(ops: np.ndarray) -> int:
    for k in range(ops.shape[0]):
        if ops[k, 0] == QUANTUM:
            return k
    return -1


@numba.njit(cache=True)
def _forward_ops(acts: List, ops: np.ndarray, params: List, lo: int, hi: int) -> None:
    """Appends the outputs of the classical ops[lo:hi] to ``acts`` (whose last is their input)."""
    for k in range(lo, hi):
        code, a, c, rows, cols = ops[k, 0], ops[k, 1], ops[k, 2], ops[k, 3], ops[k, 4]
        h = acts[len(acts) - 1]
        if code == LINEAR:
            bias = params[c] if c >= 0 else params[a]
            acts.append(_linear(h, params[a].reshape(rows, cols), bias, c >= 0))
        else:
            acts.append(_activation(code, h))


@numba.njit(cache=True)
def _backward_ops(g: np.ndarray, acts: List, ops: np.ndarray, params: List, grads: List,
                  lo: int, hi: int) -> np.ndarray:
    """The gradient ``g`` of ops[hi - 1]'s output taken back to ops[lo]'s input, filling
    their parameters' gradients."""
    for k in range(hi - 1, lo - 1, -1):
        code, a, c, rows, cols = ops[k, 0], ops[k, 1], ops[k, 2], ops[k, 3], ops[k, 4]
        if code == LINEAR:
            bias = grads[c] if c >= 0 else grads[a]
            g = _linear_backward(g, acts[k], params[a].reshape(rows, cols),
                                 grads[a].reshape(rows, cols), bias, c >= 0, k > 0)
        else:
            g = _activation_backward(code, g, acts[k + 1])
    return g


@numba.njit(cache=True, nogil=True)
def step_head(x: np.ndarray, ops: np.ndarray, params: List) -> tuple[List, np.ndarray]:
    """The forward up to the quantum layer: every activation so far, and the circuit's
    inputs (the layer's input times its input weights, where it has them)."""
    acts = List()
    acts.append(x)
    q = _quantum_row(ops)
    _forward_ops(acts, ops, params, 0, q)
    h, c = acts[q], ops[q, 2]
    return acts, np.ascontiguousarray(h * params[c] if c >= 0 else h)


@numba.njit(cache=True, nogil=True)
def step_middle(acts: List, out: np.ndarray, y: np.ndarray, ops: np.ndarray, params: List,
                grads: List) -> tuple[float, np.ndarray]:
    """From the circuit's outputs: the rest of the forward, the loss, and its gradient back
    to the circuit's outputs."""
    q = _quantum_row(ops)
    acts.append(out)
    _forward_ops(acts, ops, params, q + 1, ops.shape[0])
    loss, g = _cross_entropy(acts[len(acts) - 1], y)
    g = _backward_ops(g, acts, ops, params, grads, q + 1, ops.shape[0])
    return loss, np.ascontiguousarray(g)


@numba.njit(cache=True, nogil=True)
def step_tail(grad_x: np.ndarray, grad_w: np.ndarray, acts: List, ops: np.ndarray,
              params: List, grads: List, first: List, second: List, steps: np.ndarray,
              kind: int, hyper: np.ndarray) -> None:
    """From the circuit's input and weight gradients: the rest of the backward and the
    update of every parameter."""
    q = _quantum_row(ops)
    a, c, h = ops[q, 1], ops[q, 2], acts[q]
    grads[a][:] = grad_w
    g = grad_x
    if c >= 0:
        scale, dest = params[c], grads[c]
        for i in range(dest.shape[0]):
            total = 0.0
            for b in range(h.shape[0]):
                total += grad_x[b, i] * h[b, i]
            dest[i] = total
        g = grad_x * scale
    _backward_ops(g, acts, ops, params, grads, 0, q)
    _update(kind, params, grads, first, second, steps, hyper)


@numba.njit(cache=True, nogil=True)
def train_step(x: np.ndarray, y: np.ndarray, n_classes: int, ops: np.ndarray, params: List,
               grads: List, first: List, second: List, steps: np.ndarray, kind: int,
               hyper: np.ndarray, e_const: np.ndarray, e_in: np.ndarray, e_w: np.ndarray,
               l_const: np.ndarray, l_w: np.ndarray, enc_kinds: np.ndarray, lay_kinds: np.ndarray,
               lay_depths: np.ndarray, q_ops: np.ndarray, perms: np.ndarray,
               inverses: np.ndarray, index: np.ndarray, value: np.ndarray, n_outputs: int,
               mats: np.ndarray, state: np.ndarray, chunk: int, work: np.ndarray) -> float:
    """Forward, cross-entropy, backward (into ``grads``) and the update of every parameter
    in this thread; the batch loss, or -1 (nothing changed) if a label is outside the
    classes. The circuit runs over chunks of ``chunk`` samples (``kernel.chunk_size``: each
    in cache); ``work`` is the kernel loops' scratch for every chunk (``SmallKernel.workspace``:
    room for 4 chunk states, or empty)."""
    if not labels_ok(y, n_classes):
        return -1.0
    acts, xq = step_head(x, ops, params)
    q = _quantum_row(ops)
    w, need = params[ops[q, 1]], q > 0 or ops[q, 2] >= 0
    out = np.empty((xq.shape[0], n_outputs), dtype=xq.dtype)
    encs, planars = List(), List()  # per chunk, for the circuit's backward
    for start in range(0, xq.shape[0], chunk):
        part, enc, planar = forward_loops(
            xq[start:start + chunk], w, e_const, e_in, e_w, l_const, l_w, enc_kinds,
            lay_kinds, lay_depths, q_ops, perms, index, value, n_outputs, mats, state, work)
        out[start:start + chunk] = part
        encs.append(enc)
        planars.append(planar)
    loss, g = step_middle(acts, out, y, ops, params, grads)
    grad_x = np.empty((g.shape[0], e_in.shape[0]), dtype=g.dtype)
    grad_w = np.zeros(w.shape[0], dtype=g.dtype)
    for i in range(len(planars)):
        start = i * chunk
        part_x, part_w = backward_loops(
            g[start:start + chunk], planars[i], encs[i], mats, lay_depths, q_ops,
            inverses, index, value, need, True, e_in, e_w, l_w, work)
        grad_x[start:start + chunk] = part_x
        grad_w += part_w
    step_tail(grad_x, grad_w, acts, ops, params, grads, first, second, steps, kind, hyper)
    return loss
