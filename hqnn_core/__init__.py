"""hqnn: hybrid quantum-classical neural networks."""
