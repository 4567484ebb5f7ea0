"""Home: what the studio is, the workflow as steps, where you are, and a one-click demo."""

import streamlit as st

from hqnn_ui import navigation, state
from hqnn_ui.runs import accuracy_text, demo_model_dir, list_runs
from hqnn_ui.sidebar import circuit_label, classes_label, dataset_title


def open_demo() -> None:
    """Select the shipped digits model and go draw a digit for it."""
    st.session_state[state.SELECTED_RUN_KEY] = str(demo_model_dir())
    navigation.switch_to("classify.py")


cfg = state.current_config()
st.title("hqnn studio")
st.markdown(
    "Build **hybrid quantum-classical neural networks** that classify images. Pick a "
    "dataset, choose how pixels are encoded into qubits and how the circuit is laid out, "
    "watch the network learn live, then draw a digit and see the classifier — and the "
    "quantum state inside it — answer. The same core runs on an exact simulator, on Qiskit "
    "Aer with shots and noise, and on IBM Quantum hardware."
)

st.subheader("The workflow")
steps = st.columns(len(navigation.workflow_steps()))
for number, (column, page) in enumerate(zip(steps, navigation.workflow_steps()), start=1):
    with column.container(border=True):
        navigation.page_link(page.file, label=f"{number}. {page.title}")
        st.caption(page.purpose)

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Where you are")
    st.markdown(f"**Dataset** {dataset_title(cfg.data.name)} · classes: {classes_label(cfg)}  \n"
                f"**Circuit** {circuit_label(cfg)}  \n"
                f"**Model** {cfg.model.kind}, trained {cfg.train.epochs} epochs on "
                f"the {cfg.train.backend} backend")
    runs = list_runs()
    if runs:
        latest = runs[0]
        st.markdown(f"**Latest run** {latest.name} · {latest.dataset} · {latest.kind} · "
                    f"{latest.status} · test accuracy {accuracy_text(latest.test_accuracy)}")
        navigation.page_link("experiments.py", label="All runs")
    else:
        st.caption("No runs yet: train one on the Train page.")

with right:
    st.subheader("Try it now")
    if demo_model_dir() is not None and navigation.spec("classify.py").exists:
        st.markdown("A small hybrid model trained on the 8×8 digits ships with the studio.")
        if st.button("Draw a digit for the demo model", type="primary",
                     icon=":material/draw:", key="home_demo"):
            open_demo()
    else:
        st.caption("The demo model is not part of this build; train a model first.")
