"""pl-torch: PennyLane ``default.qubit`` through ``qml.qnn.TorchLayer`` (torch interface, backprop,
parameter broadcasting over the batch) inside a PyTorch model: the torch-based PennyLane path.

Same model, loop, data and Qiskit check as the probes of ``../shared/peers`` (its ``_common``);
run with that folder's virtualenv (``env.sh``). ``benchmarks/bench_peers.py`` runs it."""
import os
import sys
from pathlib import Path

PEERS = Path(os.environ.get("HQNN_PEERS") or Path(__file__).resolve().parents[3] / "shared" / "peers")
sys.path.insert(0, str(PEERS))
import _common as C  # noqa: E402

import pennylane as qml  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(C.torch_threads())
PEER = "pl-torch"


def make_layer(n):
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs, weights):  # inputs (B, n) broadcast, weights (L, n, 2)
        for i in range(n):
            qml.RY(inputs[..., i], wires=i)
        for layer in range(C.L):
            for i in range(n):
                qml.RY(weights[layer, i, 0], wires=i)
                qml.RZ(weights[layer, i, 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return qml.qnn.TorchLayer(circuit, {"weights": (C.L, n, 2)})


def run(n, X, y):
    torch.manual_seed(1)
    batches = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in C.batches_np(X, y)]
    q = make_layer(n)
    model = torch.nn.Sequential(torch.nn.Linear(64, n), q, torch.nn.Linear(n, 10))
    opt = torch.optim.Adam(model.parameters(), lr=C.LR)
    lossf = torch.nn.CrossEntropyLoss()

    def step(k):
        xb, yb = batches[k % len(batches)]
        opt.zero_grad()
        loss = lossf(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    steps, el = C.timed(step, C.budget())
    x, w = C.fixed_check_inputs(n, X)
    with torch.no_grad():
        q.weights.copy_(torch.from_numpy(w))
        out = q(torch.from_numpy(x)).numpy()
    C.report(PEER, n, steps, el, C.check_diff(out, x, w))


def main():
    X, y = C.load_data()
    for n in C.qubit_counts():
        run(n, X, y)


if __name__ == "__main__":
    main()
