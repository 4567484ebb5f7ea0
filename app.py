"""hqnn studio: page navigation and the shared sidebar; every screen lives in views/."""

import streamlit as st

from hqnn_ui import navigation, presentation, sidebar, state

st.set_page_config(page_title="hqnn studio", page_icon=":material/blur_on:", layout="wide",
                   initial_sidebar_state=presentation.sidebar_state())
state.load_config_from_url_once()
page = st.navigation(navigation.available_pages())
summary = sidebar.render()
presentation.render_banner()
page.run()
sidebar.refresh(summary)
