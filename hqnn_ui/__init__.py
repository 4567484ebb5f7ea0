"""Streamlit helpers shared by the studio's pages (the only UI package; hqnn_core has none).

``state``: the session's configuration, training job and URL; ``navigation``: the page
registry; ``sidebar``: the shared sidebar; ``presentation``: the live-demo mode;
``forms``: widgets bound to the configuration; ``runs``: the run store for pages;
``threads``: a workaround that keeps qiskit usable across Streamlit's script threads
(it runs on import, before any page can touch qiskit).
"""

from hqnn_ui.threads import import_qiskit_in_lasting_thread

import_qiskit_in_lasting_thread()
