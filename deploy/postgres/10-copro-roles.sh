#!/bin/sh
# First start of the PostgreSQL container: the copro database, owned by the owner role (migrations),
# and the app role the services log in as (granted table by table by the migrations). Neither is a superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username postgres \
     -v owner_pw="$COPRO_OWNER_DB_PASSWORD" -v app_pw="$COPRO_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE copro_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_pw';
CREATE ROLE copro_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_pw';
CREATE DATABASE copro OWNER copro_owner;
SQL
