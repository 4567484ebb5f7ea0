"""Streamlit helpers shared by the studio's pages (the only UI package; hqnn_core has none).

``state``: the session's configuration, training job and URL; ``navigation``: the page
registry; ``sidebar``: the shared sidebar; ``presentation``: the live-demo mode;
``forms``: widgets bound to the configuration; ``runs``: the run store for pages.

Importing this package, which every page and app.py do first, settles two things once per
process: a page opened by its own URL on a fresh server still runs through app.py
(:func:`hqnn_ui.navigation.leave_pages_folder_mode`), and qiskit is loaded on a lasting
thread (:func:`hqnn_core.qiskit_thread.load_qiskit`): Streamlit runs every script run on a
new short-lived thread, and qiskit 2.6 segfaults once the thread that imported it has exited.
"""

from hqnn_core.qiskit_thread import load_qiskit
from hqnn_ui.navigation import leave_pages_folder_mode

leave_pages_folder_mode()
load_qiskit()
