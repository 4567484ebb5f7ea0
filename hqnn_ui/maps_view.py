"""Streamlit piece of the Train page: what the model learns, as a moving map.

Each model in the job (the quantum one and its classical twin) has one map per epoch
of a fixed subset of test images in its core's output space (``JobSnapshot.maps``).
The two train side by side, kept in step epoch by epoch, so while training runs the latest
map of each moves beside the other (a model whose first map is not there yet has a caption
in its column). Afterwards a slider replays the epochs.
"""

from __future__ import annotations

import streamlit as st

from hqnn_core.studio.jobs import JobSnapshot
from hqnn_core.viz.diagnostics import embedding_figure

EPOCH_KEY = "train_map_epoch"


def learning_map_view(snap: JobSnapshot) -> None:
    """The quantum model's map beside the twin's (the latest epoch, or the chosen one)."""
    maps = {label: frames for label, frames in snap.maps.items() if frames}
    if not maps:
        return
    st.markdown("**What the model learns** — test images in the output space of the quantum "
                "layer (and of the twin's classical layer), first two principal components; "
                "colour = true class, × = predicted wrong (in the predicted class's colour)")
    epochs = sorted({f.epoch for frames in maps.values() for f in frames})
    epoch = epochs[-1]
    if not snap.active and len(epochs) > 1:
        epoch = st.select_slider("Epoch", epochs, value=epochs[-1], key=EPOCH_KEY,
                                 help="0 is before training.")
    labels = [p.label for p in snap.models()]
    for column, label in zip(st.columns(len(labels)), labels):
        frames = maps.get(label)
        if not frames:
            column.caption(f"The {label}'s map appears here as soon as it starts learning.")
            continue
        frame = next((f for f in reversed(frames) if f.epoch <= epoch), frames[0])
        title = (f"{label} · epoch {frame.epoch} · {frame.accuracy:.0%} of "
                 f"{len(frame.labels)} test images right")
        column.plotly_chart(embedding_figure(frame, frame.class_names or _names(frame),
                                             title=title), key=f"map_{label}")


def _names(frame) -> list[str]:
    return [str(k) for k in range(int(max(frame.labels.max(), frame.predictions.max())) + 1)]
