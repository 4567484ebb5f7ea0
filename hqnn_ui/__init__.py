"""Streamlit helpers shared by the studio's screens (the only UI package; hqnn_core has none).

``state``: the session's configuration, training job and URL; ``navigation``: the page
registry; ``sidebar``: the shared sidebar; ``presentation``: the live-demo mode;
``forms``: widgets bound to the configuration; ``runs``: the run store for pages.

Importing this package, which app.py does first, loads qiskit on a lasting thread
(:func:`hqnn_core.qiskit_thread.load_qiskit`): Streamlit runs every script run on a new
short-lived thread, and qiskit 2.6 segfaults once the thread that imported it has exited.
Screens live in ``views/`` (not ``pages/``), so Streamlit never enters its legacy multipage
mode and every URL, a deep link included, runs through app.py. It also starts the
warm-up imports a first training run needs (:mod:`hqnn_core.studio.warmup`).
"""

from hqnn_core.qiskit_thread import load_qiskit
from hqnn_core.studio import warmup

load_qiskit()
warmup.start()
