"""Diagnostics of circuits and models, computed by the engine (no Streamlit).

* :mod:`.states` — the state after each step of a circuit for one input: Bloch vectors,
  basis-state probabilities, per-qubit purity;
* :mod:`.expressibility` — expressibility (KL divergence from Haar) and Meyer-Wallach
  entangling capability (Sim, Johnson & Aspuru-Guzik 2019);
* :mod:`.gradients` — gradient variance over random initialisations (barren plateaus,
  McClean et al. 2018);
* :mod:`.embedding` — a 2-D map of test images in a model's core-output space, per epoch.
"""
