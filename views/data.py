"""Data: choose the dataset, where it lives, classes and sizes; see the real split sizes,
samples, class balance, and what the circuit receives of an image through the model's front."""

import dataclasses

import streamlit as st

from pathlib import Path

from hqnn_core.config import DATASETS, DataConfig, RunConfig
from hqnn_core.data.registry import (DatasetSplit, class_counts, dataset_info, load_dataset,
                                     local_roots)
from hqnn_core.data.sources import resolve_root
from hqnn_core.diagnostics.encoding import front_view
from hqnn_core.errors import HqnnError
from hqnn_core.viz.figures import class_balance_figure, encoding_view_figure, sample_gallery_figure
from hqnn_ui import forms, state
from hqnn_ui.sidebar import dataset_title

SECTION = "data"
CLASSES_KEY = forms.widget_key(SECTION, "classes")
ROOT_KEY = forms.widget_key(SECTION, "root")


def widget_values(data: DataConfig, n_classes: int) -> dict:
    """What the widgets show for ``data`` (0 means "all" for the sizes)."""
    classes = list(data.classes) if data.classes is not None else list(range(n_classes))
    return {"name": data.name, "root": data.root or "", "classes": classes,
            "train_size": data.train_size or 0, "test_size": data.test_size or 0,
            "val_fraction": float(data.val_fraction), "grayscale": data.grayscale}


def select_all_classes() -> None:
    """A newly chosen dataset starts with all of its classes, in its default folder."""
    name = forms.value(SECTION, "name")
    st.session_state[CLASSES_KEY] = list(range(dataset_info(name)["n_classes"]))
    st.session_state[ROOT_KEY] = ""


def use_root(path: str) -> None:
    """Button callback: read the dataset from ``path``."""
    st.session_state[ROOT_KEY] = path


def torchvision_root(name: str) -> str | None:
    """The folder a torchvision-layout dataset is read from (typed, or found offline)."""
    typed = st.text_input("Data folder (torchvision layout)", **forms.shown(SECTION, "root"),
                          placeholder=f"{resolve_root(None)} (the default)",
                          help="A folder holding e.g. MNIST/raw/train-images-idx3-ubyte; "
                               "empty = the default data folder (HQNN_DATA_DIR).")
    root = str(Path(typed).expanduser().resolve()) if typed.strip() else None
    found = [p for p in local_roots(name) if p != str(resolve_root(root))]
    for path in found[:4]:
        st.button(f"Use the copy in {path}", key=f"data_root_{path}", on_click=use_root,
                  args=(path,), icon=":material/folder_open:")
    return root


def folder_source() -> str | None:
    """The user's own images: an uploaded zip (kept in this session's folder) or a path."""
    upload = st.file_uploader("A zip with one sub-folder of images per class", type="zip",
                              key="data_upload")
    if upload is not None and st.session_state.get("_data_upload_id") != upload.file_id:
        st.session_state["_data_upload_id"] = upload.file_id
        st.session_state[ROOT_KEY] = str(forms.save_upload(upload.name, upload.getvalue()))
        st.session_state[CLASSES_KEY] = []
    return st.text_input("…or a folder on this machine", placeholder="/path/to/images",
                         **forms.shown(SECTION, "root")) or None


def show_dataset(data: DataConfig, info: dict, cfg: RunConfig) -> None:
    """Counts, a gallery per class, the class balance and the encoding's view."""
    if not info["available"]:
        if info["name"] == "folder":
            st.info(info.get("problem") or "Upload a zip or name a folder with one "
                    "sub-folder of images per class.")
            return
        st.info(f"{info['title']} is not on this machine yet; it is downloaded once into "
                f"{info['root']} when you load it, which needs a network connection.")
        if not st.button(f"Download and load {info['title']}", type="primary"):
            return
    try:
        with st.spinner(f"Loading {info['title']}…"):
            split = load_dataset(data)
    except HqnnError as exc:
        st.error(str(exc))
        return
    c = st.columns(4)
    c[0].metric("Training", len(split.y_train))
    c[1].metric("Validation", len(split.y_val))
    c[2].metric("Test", len(split.y_test))
    c[3].metric("Image (C × H × W)", " × ".join(str(d) for d in split.image_shape))
    st.subheader("Samples per class")
    st.plotly_chart(sample_gallery_figure(split.x_train, split.y_train, split.class_names),
                    key="gallery")
    st.subheader("Class balance")
    counts = {part: list(n.values()) for part, n in class_counts(split).items()}
    st.plotly_chart(class_balance_figure(split.class_names, counts), key="balance")
    show_encoding_view(split, cfg)


def show_encoding_view(split: DatasetSplit, cfg: RunConfig) -> None:
    """The first training image of each class as the circuit receives it through the front."""
    st.subheader("What the encoding sees")
    circuit = cfg.circuit
    firsts = [int((split.y_train == k).nonzero()[0, 0])
              for k in range(split.n_classes) if bool((split.y_train == k).any())][:6]
    try:
        view = front_view(cfg, split.x_train[firsts], split.x_train)
    except HqnnError as exc:
        st.warning(str(exc))
        return
    st.caption(f"{circuit.encoding} encoding on {circuit.n_qubits} qubits takes "
               f"{circuit.n_features} numbers per image, from the {cfg.model.kind} model's "
               f"front. {view.description} Change the encoding and the front on the Circuit "
               "page.")
    titles = [split.class_names[int(split.y_train[i])] for i in firsts]
    st.plotly_chart(encoding_view_figure(view.views, titles), key="encoding_view")


cfg = state.current_config()
forms.seed_widgets(SECTION, widget_values(cfg.data, dataset_info(cfg.data.name)["n_classes"]))
st.title("Data")
st.caption("Which images the network learns from; everything on the right follows your choices.")
left, right = st.columns([1, 2], gap="large")

with left:
    name = st.selectbox("Dataset", DATASETS, format_func=dataset_title,
                        on_change=select_all_classes,
                        **forms.shown_choice(SECTION, "name", DATASETS))
    root = folder_source() if name == "folder" else (
        torchvision_root(name) if name != "digits" else None)
    info = dataset_info(name, root)
    st.caption(info["description"])
    n_classes = info["n_classes"]
    chosen = [k for k in st.session_state.get(CLASSES_KEY, []) if k < n_classes]
    st.session_state[CLASSES_KEY] = chosen or list(range(n_classes))
    st.multiselect("Classes", list(range(n_classes)),
                   format_func=lambda k: str(info["class_names"][k]),
                   **forms.shown(SECTION, "classes", "default"))
    sizes = st.columns(2)
    sizes[0].number_input("Training images (0 = all)", min_value=0, step=50,
                          **forms.shown(SECTION, "train_size"))
    sizes[1].number_input("Test images (0 = all)", min_value=0, step=50,
                          **forms.shown(SECTION, "test_size"))
    st.slider("Validation share of the training images", 0.0, 0.5, step=0.05,
              **forms.shown(SECTION, "val_fraction"))
    if info["image_shape"][0] == 3 or name == "folder":
        st.toggle("Grayscale", **forms.shown(SECTION, "grayscale"))

with right:
    classes = sorted(forms.value(SECTION, "classes"))
    try:
        data = dataclasses.replace(
            cfg.data, name=name, root=root,
            classes=None if len(classes) == n_classes else tuple(classes),
            train_size=forms.value(SECTION, "train_size") or None,
            test_size=forms.value(SECTION, "test_size") or None,
            val_fraction=forms.value(SECTION, "val_fraction"),
            grayscale=forms.value(SECTION, "grayscale"))
    except HqnnError as exc:
        st.warning(str(exc))
    else:
        cfg = dataclasses.replace(cfg, data=data)
        state.set_config(cfg)
        forms.remember_widgets(SECTION, widget_values(data, n_classes))
        show_dataset(data, info, cfg)
