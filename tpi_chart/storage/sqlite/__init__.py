"""The SQLite engine: one database file per clinic on this computer."""
