"""The dashboards' one door to data: pages import this module and nothing below it.

The data layer is split by concern; this module re-exports every public name each part
defines (its ``__all__``, derived from the module itself), so a page reads
``data_access.<function>`` whichever part holds it, and a new query is one function in its
part, exported here without being listed:

* :mod:`streamlit_app.snapshots`: which snapshot to show, read-only connections, cached
  parameterised queries, ``@sql_query`` / ``@reads`` (a query declared by its SQL, ``READS``);
* :mod:`streamlit_app.mart_queries`: headline KPIs and the Product, Marketing, Finance marts;
* :mod:`streamlit_app.ops_queries`: the ``ops`` tables of a snapshot (contracts, dbt, schema);
* :mod:`streamlit_app.run_history`: manifests, logs, dbt artefacts and schema snapshots of
  every run, read through the pipeline's own readers (``pipeline.records.manifest``,
  ``pipeline.transform.artifacts``, ``pipeline.checks.drift``, ``pipeline.runs``).
"""

from __future__ import annotations

from streamlit_app import mart_queries, ops_queries, run_history, snapshots
from streamlit_app.mart_queries import *  # noqa: F403
from streamlit_app.ops_queries import *  # noqa: F403
from streamlit_app.run_history import *  # noqa: F403
from streamlit_app.snapshots import *  # noqa: F403

__all__ = sorted({*snapshots.__all__, *mart_queries.__all__, *ops_queries.__all__,
                  *run_history.__all__})
