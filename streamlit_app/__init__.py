"""Streamlit dashboards over the latest published snapshot (read-only)."""
