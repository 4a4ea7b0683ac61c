"""The SQLite engine: one database file per clinic on this computer.

Only the composition points import this package from outside `tpi_chart.storage` (the contract
"only the composition points import the SQLite engine" in pyproject.toml): the services see the
engine-neutral Protocols of `tpi_chart.storage.interfaces`.
"""
