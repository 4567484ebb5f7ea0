"""Streamlit-free services of the studio: background training jobs (``jobs``) and the
Hardware screen's side-by-side comparisons (``hardware``)."""
