"""The clinic database on a PostgreSQL server (several rooms, one clinic): issue 18."""
