"""Streamlit helpers shared by the studio's pages (the only UI package; hqnn_core has none).

``state``: the session's configuration, training job and URL; ``navigation``: the page
registry; ``sidebar``: the shared sidebar; ``presentation``: the live-demo mode;
``widgets``: small page-boundary helpers.
"""
