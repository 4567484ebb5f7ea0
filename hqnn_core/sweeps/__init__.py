"""Sweeps: search a space of run configurations on Ray Tune, then retrain the best on seeds.

``spec`` (SweepSpec, no Ray), ``run`` (run_sweep on Ray Tune), ``trial`` (the worker side),
``tracker`` (progress, snapshots, files), ``results`` (the table), ``baseline`` (raw-pixel
scikit-learn models), ``compare`` (equal-budget hybrid vs twin vs baseline), ``cli``.
"""
