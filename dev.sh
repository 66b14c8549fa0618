#!/usr/bin/env bash
# Scroller's two commands, each doing all its own set-up on a fresh Debian/Ubuntu machine:
#   ./dev.sh run    install, migrate, and serve on embedded defaults at http://127.0.0.1:8000/
#   ./dev.sh test   install, make sure MariaDB and Redis answer, run every test on SQLite and on MariaDB+Redis
#   ./dev.sh serve --processes N   N Daphne processes on one socket, on DATABASE_URL and REDIS_URL
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PYTHON="$VENV/bin/python"
SYSTEM_PACKAGES=(python3 python3-venv python3-dev gcc pkg-config default-libmysqlclient-dev xz-utils)
TEST_PACKAGES=(chromium mariadb-client redis-tools nginx openssl)
TEST_DATABASE_URL=${TEST_DATABASE_URL:-mysql://root@127.0.0.1:3306/scroller}
TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}

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
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
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
  if ! answers 127.0.0.1 3306; then
    say "starting MariaDB"
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB 127.0.0.1 3306
  fi
  if ! answers 127.0.0.1 6379; then
    say "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis 127.0.0.1 6379
  fi
}

run() {
  install_system_packages "${SYSTEM_PACKAGES[@]}"
  install_python_packages
  "$PYTHON" manage.py migrate --noinput -v 0
  "$PYTHON" manage.py collectstatic --noinput -v 0
  "$PYTHON" manage.py ensure_admin
  local port=${PORT:-8000}
  say "Scroller is at http://127.0.0.1:$port/  (admin: http://127.0.0.1:$port/admin/)  Ctrl-C stops it"
  exec "$VENV/bin/daphne" -b 127.0.0.1 -p "$port" scroller.asgi:application
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
