# A local PostgreSQL for the central server's tests (sourced by scripts/test after setup.sh).
# The central tests run against SQLite always, and against this server when
# LEARNHUB_TEST_POSTGRES is set; without root they skip the PostgreSQL variant and say why.

PG_TEST_ROLE=learnhub_test
PG_TEST_DB=learnhub_test
# Only a throwaway test database on the loopback: this password guards nothing of value.
PG_TEST_PASSWORD=learnhub_test

# ensure_test_postgres : install PostgreSQL (Debian's `postgresql`), start its cluster, create
# the test role and database, and export LEARNHUB_TEST_POSTGRES. Keeps a URL already exported.
ensure_test_postgres() {
  if [ -n "${LEARNHUB_TEST_POSTGRES:-}" ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "Not root and no sudo: the PostgreSQL variants of the central tests will be skipped." >&2
    return 0
  fi
  ensure_debian_packages postgresql
  local version port
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    as_root pg_createcluster "$version" main
  fi
  # Already running is fine; a container without systemd needs pg_ctlcluster itself.
  pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online \
    || as_root pg_ctlcluster "$version" main start
  port="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')"
  _wait_for_postgres "$port"
  _postgres_sql "$port" <<SQL
SELECT 'CREATE ROLE $PG_TEST_ROLE LOGIN'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_TEST_ROLE') \gexec
ALTER ROLE $PG_TEST_ROLE WITH LOGIN PASSWORD '$PG_TEST_PASSWORD';
SELECT 'CREATE DATABASE $PG_TEST_DB OWNER $PG_TEST_ROLE'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_TEST_DB') \gexec
SQL
  export LEARNHUB_TEST_POSTGRES="postgresql://$PG_TEST_ROLE:$PG_TEST_PASSWORD@127.0.0.1:$port/$PG_TEST_DB"
  echo "PostgreSQL for the central tests: postgresql://$PG_TEST_ROLE@127.0.0.1:$port/$PG_TEST_DB"
}

_postgres_sql() {
  as_root runuser -u postgres -- psql -p "$1" -v ON_ERROR_STOP=1 -q -X -d postgres
}

_wait_for_postgres() {
  local tries=0
  until pg_isready -q -h 127.0.0.1 -p "$1"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "PostgreSQL did not start on port $1 within 30 s." >&2
      return 1
    fi
    sleep 0.5
  done
}
