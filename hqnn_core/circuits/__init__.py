"""Circuits: encoding + ansatz + measurement -> one parameterized ``QuantumCircuit``."""

from hqnn_core.circuits.build import BuiltCircuit, build_circuit

__all__ = ["BuiltCircuit", "build_circuit"]
