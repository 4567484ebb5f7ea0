"""Every widget bound to the configuration is created with its current value as its default.

The browser mounts a widget at the default its element carries and adopts a value written
through session state only a moment later. A click in that moment (a person ticking the
twin checkbox while the Train page's first script run was still going, on a loaded server)
sent those defaults back as the person's choice: Epochs 1, batch 8, lr 0.0 and a disabled
Start. So the default each element carries must be the value the widget holds, on a page's
first run from a shared link, after a change made elsewhere, and after the person's edit.
"""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_ui.state import CONFIG_KEY

LINK = {"train.epochs": "5", "train.batch_size": "64", "train.lr": "0.07", "train.seed": "11",
        "train.optimizer": "sgd", "train.schedule": "cosine", "train.warmup": "0.1",
        "train.weight_decay": "0.001", "train.decay_angles": "true", "train.patience": "4",
        "train.restore_best": "true", "data.augment": "true"}


def mounted_at(widget: Any) -> Any:
    """What the browser shows when it mounts ``widget`` from its element (its default)."""
    proto, kind = widget.proto, type(widget).__name__
    if kind == "NumberInput":
        return proto.default if proto.HasField("default") else None
    if kind in ("Selectbox", "Radio"):
        return proto.default
    if kind == "Multiselect":
        return list(proto.default)
    if kind == "Slider":
        return proto.default[0]
    return proto.default  # Checkbox, Toggle, TextInput


def held(widget: Any) -> Any:
    """The same quantity for the value the widget holds (indices for choices)."""
    kind = type(widget).__name__
    if kind in ("Selectbox", "Radio"):
        return widget.index
    if kind == "Multiselect":
        return list(widget.indices)
    return widget.value


def bound_widgets(at: AppTest) -> list:
    """The page's widgets that edit the configuration (keys ``w.<section>.<field>``)."""
    kinds = ("number_input", "selectbox", "radio", "multiselect", "slider", "checkbox",
             "toggle", "text_input")
    return [w for kind in kinds for w in at.get(kind) if str(w.key or "").startswith("w.")]


def mismatches(at: AppTest) -> dict[str, tuple[Any, Any]]:
    return {w.key: (mounted_at(w), held(w)) for w in bound_widgets(at)
            if mounted_at(w) != held(w)}


def test_the_train_page_opened_from_a_link_mounts_every_field_at_the_links_value(
        studio: AppTest) -> None:
    at = studio
    for key, value in LINK.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/train.py").run()
    assert not at.exception and not at.error
    widgets = {w.key: w for w in bound_widgets(at)}
    assert len(widgets) == 12, sorted(widgets)
    assert widgets["w.train.epochs"].value == 5 and widgets["w.train.lr"].value == 0.07
    assert widgets["w.train.batch_size"].value == 64
    assert mismatches(at) == {}
    assert mounted_at(widgets["w.train.epochs"]) == 5  # not min_value 1
    assert mounted_at(widgets["w.train.lr"]) == 0.07  # not 0.0

    at.number_input(key="w.train.epochs").set_value(300).run()  # the person's edit
    at.selectbox(key="w.train.batch_size").set_value(16).run()
    assert mismatches(at) == {}
    assert mounted_at(at.number_input(key="w.train.epochs")) == 300
    assert at.session_state[CONFIG_KEY].train.batch_size == 16


def test_a_configuration_changed_elsewhere_is_what_every_field_mounts_at(
        studio: AppTest) -> None:
    at = studio
    at.run()
    at.switch_page("views/train.py").run()
    at.number_input(key="w.train.epochs").set_value(7).run()
    at.session_state[CONFIG_KEY] = RunConfig(  # a loaded run or another page
        data=DataConfig(name="digits", classes=(0, 1, 2), train_size=200, test_size=50,
                        val_fraction=0.2),
        circuit=CircuitConfig(n_qubits=5, layers=3, encoding="iqp", entanglement="full"),
        model=ModelConfig(kind="hybrid", front="cnn"),
        train=TrainConfig(epochs=12, batch_size=128, lr=0.2, seed=3))
    at.run()
    assert at.number_input(key="w.train.epochs").value == 12
    assert mismatches(at) == {}
    for page in ("data.py", "circuit.py"):
        at.switch_page(f"views/{page}").run()
        assert not at.exception, page
        assert len(bound_widgets(at)) >= 5, page
        assert mismatches(at) == {}, page
    assert at.slider(key="w.circuit.n_qubits").value == 5
    assert at.radio(key="w.model.kind").value == "hybrid"
