"""Build-time generators: every file the project derives from a declaration, written by
``make contracts`` (``python -m codegen``) and checked for staleness by
``tests/test_generated_files.py`` (``python -m codegen --check``).

One module per kind of output (:mod:`codegen.files` lists them all):

* :mod:`codegen.contracts`: the raw and marts data contracts and the dbt sources YAML;
* :mod:`codegen.ageing_columns`: the ageing columns of the reward-liability marts' YAML;
* :mod:`codegen.captions`: the dashboards' metric captions and ageing labels;
* :mod:`codegen.exposures`: the dbt exposures of the dashboard pages;
* :mod:`codegen.design_doc`: the generated sections of ``docs/design.md``.

codegen builds on ``foundation`` only: it reads the dbt project and the dashboards' code as
files, never imports the run-time packages, and nothing at run time imports it.
"""
