#!/usr/bin/env bash
# Runs once, when the data volume is created. For each clinic named in TPI_CLINICS, two roles
# and a database:
#   <clinic>_owner  owns the database and, after `tpi-chart server init`, its tables and the
#                   triggers that freeze signed notes; used only by the clinic's IT;
#   <clinic>        the role the workstations connect as; after `server init` it may read and
#                   change rows only (no ALTER, DROP, TRUNCATE or CREATE).
# Neither is a superuser or may create roles or databases. Passwords are read from
# /run/clinic-secrets/<clinic>.password and <clinic>_owner.password. The tables are created by
#   tpi-chart server init --owner-url 'postgresql://<clinic>_owner@HOST/<clinic>?sslmode=verify-full' \
#       --app-role <clinic>
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
  -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tpi_owners') THEN CREATE ROLE tpi_owners NOLOGIN; END IF; END \$\$"
for clinic in ${TPI_CLINICS:-}; do
  password="$(cat "/run/clinic-secrets/${clinic}.password")"
  owner_password="$(cat "/run/clinic-secrets/${clinic}_owner.password")"
  psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
    -v clinic="$clinic" -v owner="${clinic}_owner" \
    -v password="$password" -v owner_password="$owner_password" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE
    IN ROLE tpi_owners;
CREATE ROLE :"clinic" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"clinic" OWNER :"owner" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"clinic" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"clinic" TO :"clinic";
SQL
  psql -v ON_ERROR_STOP=1 --username postgres --dbname "$clinic" \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" \
    -c "ALTER SCHEMA public OWNER TO \"${clinic}_owner\""
done
