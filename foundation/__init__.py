"""What every other package builds on, and which imports none of them.

The one declaration of the source tables (``source_tables``), the keyed PII hash they
declare (``pii``), run ids (``run_id``), the layout of a home (``paths``) and the registry
of ``ops`` tables (``ops_tables``). The
generator and the loader import from here; the pipeline imports those; the dashboards
import the pipeline. Nothing here imports any of them.
"""
