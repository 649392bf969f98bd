"""Streamlit dashboards: branded per tenant, scoped per user.

``app.py`` is the entry (``streamlit run dashboards/app.py``); ``data.py`` is the only module that
reads the lake; ``auth.py`` turns a user into a tenant scope; ``branding.py`` and ``charts.py``
hold looks; ``app_pages/`` hold layout only (not ``pages/``: see app.py).
"""
