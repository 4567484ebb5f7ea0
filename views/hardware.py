"""Hardware: the IBM Quantum account, the devices, the circuit transpiled for one of them, and
one input classified on exact, Aer with shots, a noisy fake device (raw and mitigated) and —
with a token — real hardware, side by side; jobs in flight with their status."""

from pathlib import Path

import pandas as pd
import streamlit as st

from hqnn_core.backends import ibm
from hqnn_core.studio import hardware as compare
from hqnn_core.config import RunConfig
from hqnn_core.backends.devices import device_summary, fake_device_qubits, list_fake_devices
from hqnn_core.errors import HqnnError
from hqnn_ui.classify_view import load_model
from hqnn_ui.polling import job_fragment
from hqnn_ui.state import LAST_DRAWING_KEY, SELECTED_RUN_KEY, current_config

TOKEN_KEY = "hardware_token"  # the password widget's own key; never copied elsewhere
REAL_DEVICES_KEY = "hardware_real_devices"
ROWS_KEY = "hardware_rows"
JOBS_KEY = "hardware_jobs"


def account_section() -> str | None:
    """Account status, a session-only token field and an explicit Save button."""
    st.subheader("IBM Quantum account")
    token = st.text_input("API token for this session (not stored)", type="password",
                          key=TOKEN_KEY) or None
    source = ibm.token_source(token)
    st.write(f"Token: **{source or 'none'}**" if source else
             "No token: set `QISKIT_IBM_TOKEN`, save an account, or paste a token above. "
             "Fake devices work offline.")
    cols = st.columns(2)
    if cols[0].button("Save account on this computer", disabled=token is None):
        try:
            ibm.save_token(token or "")
            st.success("Account saved (QiskitRuntimeService.save_account).")
        except HqnnError as exc:
            st.error(str(exc))
    if cols[1].button("List my IBM devices", disabled=source is None):
        try:
            st.session_state[REAL_DEVICES_KEY] = ibm.describe_ibm_devices(token)
        except HqnnError as exc:
            st.error(str(exc))
    return token


def devices_section(n_qubits: int) -> str:
    """The fake devices with at least ``n_qubits`` (and real ones, once listed); the choice."""
    st.subheader("Devices")
    fakes = [d for d in list_fake_devices() if fake_device_qubits(d) >= n_qubits]
    st.caption(f"Fake devices with at least {n_qubits} qubits, as the compared model needs.")
    device = st.selectbox("Fake device (offline, with its noise model)", fakes,
                          index=fakes.index("FakeManilaV2") if "FakeManilaV2" in fakes else 0)
    summary = device_summary(device)
    st.dataframe(pd.DataFrame([{k: v for k, v in summary.items() if k != "basis_gates"}]),
                 hide_index=True)
    st.caption("Basis gates: " + ", ".join(summary["basis_gates"]))
    real = st.session_state.get(REAL_DEVICES_KEY)
    if real:
        st.write("Your IBM Quantum devices")
        st.dataframe(pd.DataFrame(real), hide_index=True)
    return device


def transpile_section(subject: compare.Subject, device: str) -> None:
    """The compared layer's circuit transpiled for the device: depth and two-qubit count."""
    st.subheader(f"The circuit on {device}")
    with st.spinner("Transpiling for the device…"):
        result = compare.transpile_summary(subject.layer.circuit, device)
    cols = st.columns(3)
    cols[0].metric("Depth", result["depth"])
    cols[1].metric("Two-qubit gates", result["two_qubit"])
    cols[2].metric("Layout", " ".join(map(str, result["layout"])))
    st.caption("Operations: " + ", ".join(f"{k} × {v}" for k, v in result["ops"].items()))


def choose_subject(cfg: RunConfig) -> compare.Subject:
    """The input (test image or last drawing) and the model (selected run or bare layer)."""
    run_path = st.session_state.get(SELECTED_RUN_KEY)
    run = load_model(str(run_path)) if run_path and Path(str(run_path)).is_dir() else None
    data = run.config.data if run is not None else cfg.data
    drawing = st.session_state.get(LAST_DRAWING_KEY)
    sources = ["A test image"] + (["The last drawing from Classify"] if drawing is not None else [])
    source = st.radio("Input", sources, horizontal=True)
    if source == sources[0]:
        index = st.number_input("Test image number", min_value=0, value=0, step=1)
        image, label = compare.dataset_test_image(data, int(index))
        st.caption(f"True class: {label}")
    else:
        image = drawing
    subject = compare.subject_for(run.config.circuit if run else cfg.circuit, image, run=run,
                                  seed=cfg.train.seed)
    st.caption(f"Comparing {subject.description}.")
    return subject


def show_rows(rows: list, labels: list[str]) -> None:
    """The comparison table and a grouped bar chart."""
    table = pd.DataFrame(compare.comparison_table(rows, labels))
    st.dataframe(table, hide_index=True)
    st.bar_chart(table.set_index("backend")[labels].T, stack=False)


def jobs_section() -> None:
    """Hardware jobs in flight and finished, polled every two seconds while one runs."""
    jobs = st.session_state.get(JOBS_KEY)
    if jobs:
        job_fragment(show_jobs, jobs, active=lambda: jobs.poll_seconds is not None,
                     every=compare.POLL_SECONDS)


def show_jobs(jobs: compare.HardwareJobs) -> None:
    """Each job's last status and, once done, its results (a full rerun when none runs)."""
    st.subheader("Jobs")
    for number, job in enumerate(jobs, start=1):
        snap = job.snapshot()
        last = snap["events"][-1] if snap["events"] else {"status": "STARTING"}
        queue = last.get("queue_position")
        st.write(f"Job {number} on {job.ibm_backend or 'least busy device'}: **{last['status']}**"
                 + (f" · queue position {queue}" if queue is not None else ""))
        if snap["error"]:
            st.error(snap["error"])
        if snap["rows"]:
            show_rows(snap["rows"], job.labels)


st.title("Hardware")
cfg = current_config()
try:
    token = account_section()
    st.subheader("Classify one input on several backends")
    subject = choose_subject(cfg)
    device = devices_section(subject.layer.n_qubits)  # the compared model's qubits
    transpile_section(subject, device)
    shots = st.number_input("Shots", min_value=100, max_value=100_000, value=2000, step=100)
    if st.button("Compare backends", type="primary"):
        with st.spinner("Running exact, Aer and the noisy device…"):
            st.session_state[ROWS_KEY] = (
                compare.local_comparison(subject.layer, subject.features, head=subject.head,
                                         shots=int(shots), device=device, seed=cfg.train.seed),
                subject.labels)
    if ROWS_KEY in st.session_state:
        show_rows(*st.session_state[ROWS_KEY])
    real = [d["name"] for d in st.session_state.get(REAL_DEVICES_KEY) or []]
    target = st.selectbox("Run through IBM Quantum Runtime on", [device] + real,
                          help="A fake device runs in runtime's local testing mode; real "
                               "devices need a token and queue like any job.")
    if st.button("Submit to IBM Quantum Runtime"):
        job = compare.HardwareJob(subject.layer, subject.features, target, head=subject.head,
                                  shots=int(shots), seed=cfg.train.seed, labels=subject.labels)
        jobs = st.session_state.setdefault(JOBS_KEY, compare.HardwareJobs())
        jobs.add(job).start(token)
except HqnnError as exc:
    st.error(str(exc))
jobs_section()
