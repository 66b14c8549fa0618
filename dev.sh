#!/usr/bin/env bash
# Scroller's two commands, each doing all its own set-up on a fresh Debian/Ubuntu machine:
#   ./dev.sh run    install, migrate, and serve on embedded defaults at http://127.0.0.1:8000/, with background workers
#   ./dev.sh test   install, check the code (ruff, mypy), start MariaDB and Redis for the tests where they do not
#                   answer yet, and run every test on SQLite and on MariaDB+Redis
#   ./dev.sh serve --processes N   N Daphne processes on one socket, on DATABASE_URL and REDIS_URL
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PYTHON="$VENV/bin/python"
SYSTEM_PACKAGES=(python3 python3-venv python3-dev gcc pkg-config default-libmysqlclient-dev xz-utils wordnet-base)
# lomiri-wallpapers-16.04: real photographs for the browser test that takes the README's screenshot (docs/scroller.png);
# icc-profiles-free, colord-data, libgs-common: real ICC profiles for the colour-management tests;
# nginx and openssl: tests/test_deploy.py checks deploy/nginx/scroller.conf with `nginx -t`.
TEST_PACKAGES=(chromium mariadb-server redis-server lomiri-wallpapers-16.04 icc-profiles-free colord-data libgs-common nginx openssl)
TEST_DATABASE_URL=${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/scroller}
TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}
# Test servers that dev.sh starts itself (where nothing answers on the test URLs' ports) keep their data here.
TEST_SERVERS_DIR=/var/lib/scroller-test
NEWLY_INSTALLED=()

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_system_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    NEWLY_INSTALLED+=("${missing[@]}")
  fi
}

apt_install() { # packages...
  # apt's own chatter goes to a log, shown only if it fails; its machine-readable progress (Status-Fd) is shown instead.
  local log
  log=$(mktemp -t scroller-apt.XXXXXX)
  say "installing Debian packages: $* (and what they need; log: $log)"
  say "updating the package lists"
  if ! as_root apt-get update >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    return 1
  fi
  # The descriptors are set up in root's own shell: sudo closes every descriptor above 2 that it is given.
  if ! as_root env DEBIAN_FRONTEND=noninteractive APT_LOG="$log" sh -c \
    'exec apt-get install -y --no-install-recommends -o APT::Status-Fd=3 "$@" 3>&1 >>"$APT_LOG" 2>&1' apt-get "$@" \
    | show_apt_progress; then
    tail -n 30 "$log" >&2
    return 1
  fi
  say "installed: $(grep -Eo '[0-9]+ newly installed' "$log" | head -n 1)"
}

show_apt_progress() {
  # Lines like "dlstatus:3:12.5:Retrieving file 3 of 40" and "pmstatus:libc6:amd64:40.0:Unpacking libc6 (amd64)":
  # one updating line on a terminal, else a line per tenth of each stage, so that logs stay short.
  local line stage percent text shown=""
  while IFS= read -r line; do
    [[ $line =~ ^(dlstatus|pmstatus):[^:]*(:[a-z0-9]+)?:([0-9]+)(\.[0-9]+)?:(.*)$ ]] || continue
    stage=${BASH_REMATCH[1]/dlstatus/downloading}
    stage=${stage/pmstatus/installing}
    percent=${BASH_REMATCH[3]}
    text=${BASH_REMATCH[5]}
    if [ -t 2 ]; then
      printf '\r\033[K    %-11s %3d%%  %.60s' "$stage" "$percent" "$text" >&2
    elif [ "$stage $((percent / 10))" != "$shown" ]; then
      shown="$stage $((percent / 10))"
      printf '    %-11s %3d%%  %s\n' "$stage" "$percent" "$text" >&2
    fi
  done
  if [ -t 2 ]; then printf '\r\033[K' >&2; fi
}

install_python_packages() {
  [ -x "$PYTHON" ] || python3 -m venv "$VENV"
  # Reinstall only when the pins change: a stamp holds the checksum of what was installed.
  local stamp="$VENV/.requirements.sha256" wanted
  wanted=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing Python packages into $VENV"
    "$PYTHON" -m pip install -q --upgrade pip
    "$PYTHON" -m pip install -q -r requirements.txt
    "$PYTHON" -m pip install -q --no-deps -e .
    echo "$wanted" >"$stamp"
  fi
}

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() { # name host port
  for _ in $(seq 1 60); do
    answers "$2" "$3" && return 0
    sleep 0.5
  done
  echo "$1 did not start on $2:$3" >&2
  return 1
}

ensure_services() {
  ensure_mariadb "$(url_host "$TEST_DATABASE_URL")" "$(url_port "$TEST_DATABASE_URL" 3306)"
  ensure_redis "$(url_host "$TEST_REDIS_URL")" "$(url_port "$TEST_REDIS_URL" 6379)"
  prepare_test_database
}

url_host() { # url
  local authority=${1#*://}
  authority=${authority%%/*}
  authority=${authority##*@}
  echo "${authority%:*}"
}

url_port() { # url default_port
  local authority=${1#*://}
  authority=${authority%%/*}
  authority=${authority##*@}
  if [[ $authority == *:* ]]; then echo "${authority##*:}"; else echo "$2"; fi
}

is_local() { # host
  [ "$1" = 127.0.0.1 ] || [ "$1" = localhost ]
}

ensure_mariadb() { # host port
  answers "$1" "$2" && return 0
  if ! is_local "$1"; then
    echo "MariaDB does not answer on $1:$2 (TEST_DATABASE_URL); dev.sh starts test servers only on 127.0.0.1" >&2
    return 1
  fi
  # A throwaway server of our own, so that any port works and a system server's data is never touched.
  local data="$TEST_SERVERS_DIR/mariadb-$2" output
  say "starting a MariaDB test server on 127.0.0.1:$2 (data in $data)"
  if ! as_root test -d "$data/mysql"; then
    as_root mkdir -p "$data"
    as_root chown mysql:mysql "$data"
    # "normal" authentication: root may log in without a password, as the default TEST_DATABASE_URL does.
    # Names are not resolved (--force: a fresh machine may not resolve even localhost): root@127.0.0.1 is a user of its own.
    if ! output=$(as_root mariadb-install-db --user=mysql --datadir="$data" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve --force 2>&1); then
      echo "$output" >&2
      return 1
    fi
  fi
  as_root start-stop-daemon --start --oknodo --background --pidfile "$data/mariadbd.pid" --exec /usr/sbin/mariadbd -- \
    --no-defaults --user=mysql --datadir="$data" --port="$2" --bind-address=127.0.0.1 --socket="$data/mariadbd.sock" \
    --pid-file="$data/mariadbd.pid" --log-error="$data/error.log" --skip-name-resolve --innodb-flush-log-at-trx-commit=2
  wait_for MariaDB 127.0.0.1 "$2"
}

ensure_redis() { # host port
  answers "$1" "$2" && return 0
  if ! is_local "$1"; then
    echo "Redis does not answer on $1:$2 (TEST_REDIS_URL); dev.sh starts test servers only on 127.0.0.1" >&2
    return 1
  fi
  local data="$TEST_SERVERS_DIR/redis-$2"
  say "starting a Redis test server on 127.0.0.1:$2 (log in $data)"
  as_root mkdir -p "$data"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$2" --save "" --appendonly no --dir "$data" \
    --logfile "$data/redis.log" --pidfile "$data/redis.pid"
  wait_for Redis 127.0.0.1 "$2"
}

prepare_test_database() {
  local status=0
  create_test_database || status=$?
  if [ "$status" -eq 3 ] && let_root_in_to_new_server; then
    create_test_database
    return
  fi
  if [ "$status" -ne 0 ]; then
    echo "Give TEST_DATABASE_URL a user that may create databases, or a free port on 127.0.0.1 for dev.sh to start" \
      "a test server of its own on, e.g. TEST_DATABASE_URL=mysql://root@127.0.0.1:3307/scroller ./dev.sh test" >&2
  fi
  return "$status"
}

let_root_in_to_new_server() {
  # Installing mariadb-server where systemd runs starts Debian's own server on 3306, which lets root in by socket
  # only. Only a server installed by this very run, and so holding nothing yet, gets the password-less root login
  # over TCP that the default TEST_DATABASE_URL asks for.
  [[ " ${NEWLY_INSTALLED[*]} " == *" mariadb-server "* ]] || return 1
  [[ $TEST_DATABASE_URL == mysql://root@127.0.0.1:3306/* || $TEST_DATABASE_URL == mysql://root@localhost:3306/* ]] \
    || return 1
  say "letting root log in from 127.0.0.1 without a password to the MariaDB server just installed (test machines only)"
  as_root mariadb --protocol=socket -e \
    "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
}

create_test_database() {
  # Logs in as TEST_DATABASE_URL says and creates its database; pytest-django then creates test_<name> beside it.
  # Exit status 3: the server refused the login.
  DATABASE_URL="$TEST_DATABASE_URL" "$PYTHON" - <<'PYTHON'
import os
import sys

import dj_database_url
import MySQLdb

config = dj_database_url.parse(os.environ["DATABASE_URL"])
try:
    connection = MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        password=config["PASSWORD"] or "",
    )
except MySQLdb.OperationalError as error:
    print(f"MariaDB refused TEST_DATABASE_URL's user {config['USER']!r}: {error.args[1]}", file=sys.stderr)
    # 1045 and 1698: access denied (1698 when the account exists only for socket logins).
    sys.exit(3 if error.args[0] in (1045, 1698) else 1)
connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{config['NAME']}` CHARACTER SET utf8mb4")
PYTHON
}

check_code() {
  say "checking the code: ruff check, ruff format --check, mypy"
  "$VENV/bin/ruff" check --quiet .
  "$VENV/bin/ruff" format --check --quiet .
  "$VENV/bin/mypy" .
}

WORKER_PIDS=()

start_workers() {
  # Background tasks (image labels) run in `db_worker` processes at a lower priority than the server,
  # so that an upload in progress keeps the CPU.
  local count=${SCROLLER_LABEL_WORKERS:-1}
  for _ in $(seq 1 "$count"); do
    nice -n "${SCROLLER_WORKER_NICENESS:-10}" "$PYTHON" manage.py db_worker --no-reload --interval 0.5 &
    WORKER_PIDS+=($!)
  done
}

stop_workers() {
  # A worker finishes the task in hand, then exits; wait for that, so nothing is left running.
  if [ ${#WORKER_PIDS[@]} -gt 0 ]; then
    kill -TERM "${WORKER_PIDS[@]}" 2>/dev/null || true
    wait "${WORKER_PIDS[@]}" 2>/dev/null || true
  fi
}

run() {
  install_system_packages "${SYSTEM_PACKAGES[@]}"
  install_python_packages
  "$PYTHON" manage.py migrate --noinput -v 0
  "$PYTHON" manage.py collectstatic --noinput -v 0
  "$PYTHON" manage.py ensure_admin
  trap stop_workers EXIT
  start_workers
  serve "${PORT:-8000}"
}

serve() { # port
  local port=$1 server
  "$VENV/bin/daphne" -b 127.0.0.1 -p "$port" scroller.asgi:application &
  server=$!
  # A background child of a script ignores Ctrl-C, so the script passes it on.
  trap 'kill -TERM "$server" 2>/dev/null' INT TERM
  until answers_http 127.0.0.1 "$port"; do
    if ! kill -0 "$server" 2>/dev/null; then
      wait "$server"
      return
    fi
    sleep 0.2
  done
  say "Scroller is at http://127.0.0.1:$port/  (admin: http://127.0.0.1:$port/admin/)  Ctrl-C stops it and its ${#WORKER_PIDS[@]} worker(s)"
  while kill -0 "$server" 2>/dev/null; do
    wait "$server" || true
  done
}

answers_http() { # host port: an HTTP answer, not only an open port
  (
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf 'HEAD / HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
    IFS= read -r -t 5 status <&3 && [[ $status == HTTP/* ]]
  ) 2>/dev/null
}

serve_processes() { # --processes N: Channels' deployment pattern, one socket shared by N `daphne --fd` children
  if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
    echo "./dev.sh serve needs DATABASE_URL (MariaDB) and REDIS_URL: processes share their data and live events through them" >&2
    exit 2
  fi
  install_system_packages "${SYSTEM_PACKAGES[@]}"
  install_python_packages
  "$PYTHON" manage.py migrate --noinput -v 0
  "$PYTHON" manage.py collectstatic --noinput -v 0
  exec "$PYTHON" -m scroller.serve --port "${PORT:-8000}" "$@"
}

test_suite() {
  install_system_packages "${SYSTEM_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  install_python_packages
  check_code
  ensure_services
  local status=0
  say "tests on SQLite and the in-memory channel layer"
  env -u DATABASE_URL -u REDIS_URL "$PYTHON" -m pytest "$@" || status=$?
  say "tests on MariaDB and Redis"
  DATABASE_URL="$TEST_DATABASE_URL" REDIS_URL="$TEST_REDIS_URL" "$PYTHON" -m pytest "$@" || status=$?
  return $status
}

case "${1:-}" in
  run) shift; run "$@" ;;
  test) shift; test_suite "$@" ;;
  serve) shift; serve_processes "$@" ;;
  *) echo "usage: ./dev.sh run | ./dev.sh test [pytest arguments] | ./dev.sh serve --processes N" >&2; exit 2 ;;
esac
