"""Plotly figure builders, pure functions from data to figure: images, states and class
probabilities (``figures``), learning curves and confusion matrices (``training``)."""
