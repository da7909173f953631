"""Files: run folders (the one atomic writer), Arrow tables, metadata.

- :mod:`~market.io.rundir`: atomic folders (written aside, renamed into place);
- :mod:`~market.io.tables`: the Arrow tables of a run (users, time series, menus, stopping law);
- :mod:`~market.io.runfolder`: :func:`write_run`, the one run-folder writer;
- :mod:`~market.io.metadata`: package versions and the git revision.
"""
