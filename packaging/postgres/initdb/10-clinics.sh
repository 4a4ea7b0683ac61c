#!/usr/bin/env bash
# Runs once, when the data volume is created: a role and a database for each clinic named in
# TPI_CLINICS, the role owning its database and nothing else (no superuser, no other
# database). The password is read from /run/clinic-secrets/<clinic>.password. TPI Chart creates
# its tables at the first start of a workstation (--db postgresql://<clinic>@host/<clinic>).
set -euo pipefail
for clinic in ${TPI_CLINICS:-}; do
  password="$(cat "/run/clinic-secrets/${clinic}.password")"
  psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
    -v clinic="$clinic" -v password="$password" <<'SQL'
CREATE ROLE :"clinic" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"clinic" OWNER :"clinic" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"clinic" FROM PUBLIC;
SQL
  psql -v ON_ERROR_STOP=1 --username postgres --dbname "$clinic" \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" \
    -c "ALTER SCHEMA public OWNER TO \"$clinic\""
done
