"""Page building blocks with Streamlit calls: a table with its CSV download, a labelled metric.

Every table a page shows goes through :func:`table`, so every table has a "Download CSV" button
with the labels shown on screen and formula-injection escaping (:mod:`dashboards.exports`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from dashboards import exports


def table(df: pd.DataFrame, *, key: str, tenant_id: str, what: str,
          labels: Mapping[str, str] | None = None, column_config: Mapping | None = None,
          height: int | str = "auto", selectable: bool = False):
    """Show ``df`` with on-screen ``labels`` and a CSV download of exactly those rows/labels.

    Returns the dataframe's selection state when ``selectable`` (single row), else None.
    """
    shown = df.rename(columns=dict(labels or {}))
    config = {k: v for k, v in (column_config or {}).items() if k in shown.columns}
    # Text columns wrap instead of being cut off; a cell's full value is one click away.
    kwargs = {"on_select": "rerun", "selection_mode": "single-row"} if selectable else {}
    event = st.dataframe(shown, hide_index=True, width="stretch", height=height,
                         column_config=config or None, key=f"tbl-{key}", **kwargs)
    # Deferred: the CSV is built only when someone clicks (a page render never pays for it),
    # and the click does not rerun the page.
    st.download_button(
        "Download CSV", data=lambda: exports.csv_bytes(shown),
        file_name=exports.file_name(tenant_id, what), mime="text/csv", key=f"csv-{key}",
        icon=":material/download:", on_click="ignore",
        help="The rows above, with these column names; formulas are neutralised.")
    return event if selectable else None
