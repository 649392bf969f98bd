"""tenantlake core: tenant config, data contracts, lake paths and write protocol, settings.

This package imports neither Dagster nor Streamlit; everything else builds on it.
"""

__version__ = "0.1.0"
