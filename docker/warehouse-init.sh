#!/usr/bin/env bash
# The warehouse's first start (docker-entrypoint-initdb.d, run once as the image's superuser): the sync's own
# login, a non-superuser, owns the database, so the migrations it applies and their SECURITY DEFINER functions
# belong to a role that can do no more than the sync needs. CREATEROLE lets the migrations create the group
# roles (finance_reader, support_agent, distributor_admin); on PostgreSQL 16 it manages only roles it created.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner="$SOPHOS_OWNER_USER" -v password="$SOPHOS_OWNER_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
ALTER DATABASE :"db" OWNER TO :"owner";
SQL
