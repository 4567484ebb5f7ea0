"""Learning: the ``QuantumLayer`` (``layer``), model fronts (``fronts``), hybrid / quantum /
classical models (``model``), ``fit()`` (``training``), checkpoints, the run store (``runs``)
and inference on saved runs (``inference``)."""
