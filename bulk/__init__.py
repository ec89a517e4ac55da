"""Bulk tagging: the ``nametag`` command and a Dask API (``bulk.dask_api``)."""
