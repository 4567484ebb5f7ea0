"""Classify: draw a digit or upload an image, see what the model sees, its answer and the
quantum state inside it."""

import streamlit as st

from hqnn_core.errors import HqnnError
from hqnn_core.learning.inference import classify_image
from hqnn_ui import state
from hqnn_ui.canvas import drawing_input
from hqnn_ui.classify_view import (answer_view, chosen_input, load_model, model_picker,
                                   upload_input)
from hqnn_ui.steps_view import step_through_view

st.title("Classify")
path = model_picker()
if path is None:
    st.info("No trained model yet: train one on the Train page.")
    st.stop()

try:
    run = load_model(path)
    st.caption(f"{run.config.data.name} · {run.config.model.kind} model · "
               f"classes {', '.join(run.class_names)}")
    source, answer_column = st.columns(2, gap="large")
    with source:
        draw_tab, upload_tab = st.tabs(["Draw", "Upload an image"])
        with draw_tab:
            drawing = drawing_input("classify_canvas")
        with upload_tab:
            upload = upload_input()
    image, which = chosen_input(drawing, upload)
    answer = classify_image(run, image) if image is not None else None
except HqnnError as exc:
    st.error(str(exc))
    st.stop()

with answer_column:
    if answer is None or answer.blank:
        st.info("Draw a digit on the black canvas (white ink), or upload an image.")
    else:
        st.markdown(which)
        if image is drawing:
            st.session_state[state.LAST_DRAWING_KEY] = answer.model_input
        answer_view(answer)
if answer is not None and not answer.blank:
    if answer.statevector is None:
        st.subheader("The quantum state for this input")
        st.info("This is a classical model: it has no quantum state to show.")
    else:
        step_through_view(path, answer.model_input)
