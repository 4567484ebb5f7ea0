"""The exact, differentiable torch statevector engine compiled from Qiskit circuits."""
