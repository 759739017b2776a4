# Shared helpers for .ci/run and .ci/test. Sourced, not executed.
# Everything a test needs is installed and started here, so that a fresh
# machine (root, Debian) runs the whole suite with one command.

# ensure_packages PKG...: apt-get install the Debian packages that are missing.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "ci: installing ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# start_postgres: start the Debian PostgreSQL cluster if it is not running,
# create the test role and database, export MEDMIJ_TEST_DATABASE_URL and
# register a trap that stops the cluster again if we started it.
MEDMIJ_PG_STARTED=
start_postgres() {
    local ver
    ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
        pg_createcluster "$ver" main >/dev/null
    fi
    if ! pg_lsclusters -h | awk '$1=="'"$ver"'" && $2=="main" {print $4}' | grep -q online; then
        pg_ctlcluster "$ver" main start
        MEDMIJ_PG_STARTED="$ver"
        trap stop_postgres EXIT
    fi
    local port
    port=$(pg_lsclusters -h | awk '$1=="'"$ver"'" && $2=="main" {print $3}')
    runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medmij') THEN
    CREATE ROLE medmij LOGIN PASSWORD 'medmij' CREATEDB;
  END IF;
END \$\$;
SQL
    if ! runuser -u postgres -- psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname='medmij_test'" | grep -q 1; then
        runuser -u postgres -- createdb -p "$port" -O medmij medmij_test
    fi
    export MEDMIJ_TEST_DATABASE_URL="postgres://medmij:medmij@127.0.0.1:$port/medmij_test"
    echo "ci: PostgreSQL $ver on port $port"
}

stop_postgres() {
    if [ -n "$MEDMIJ_PG_STARTED" ]; then
        pg_ctlcluster "$MEDMIJ_PG_STARTED" main stop || true
        MEDMIJ_PG_STARTED=
    fi
}
