#!/usr/bin/env bash
# Brings a machine to the point where gridmgmt can run: system packages,
# PostgreSQL with PostGIS, the Python virtualenv, .env with fresh keys, and
# the database. Every step checks first, so a second run redoes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

APT_PACKAGES=(postgresql postgresql-15-postgis-3 gdal-bin redis-server)
# npm installs the maps' front-end libraries from package-lock.json (below); Debian's nodejs/npm when missing.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)
if [[ "${WITH_BROWSER:-0}" == "1" ]]; then
  APT_PACKAGES+=(chromium fonts-noto-cjk)
fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  say "Installing system packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "Need root to install ${missing[*]} (run as root, or install them yourself)." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Python packages, reinstalled only when the pinned lists change.
stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -x .venv/bin/python || ! -f $stamp || "$(cat "$stamp")" != "$wanted" ]]; then
  say "Installing Python packages into .venv"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi

# Front-end libraries (Leaflet and friends, served from /static/vendor/), reinstalled only when the lock file changes.
npm_stamp=node_modules/.package-lock.sha256
npm_wanted=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $npm_stamp || "$(cat "$npm_stamp")" != "$npm_wanted" ]]; then
  say "Installing front-end libraries into node_modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_wanted" > "$npm_stamp"
fi

# Fresh secrets, once; kept in .env (not committed) so encrypted data stays readable.
if [[ ! -f .env ]]; then
  say "Writing .env with new keys"
  .venv/bin/python - <<'PY'
import secrets
from cryptography.fernet import Fernet
with open(".env", "w") as f:
    f.write(f"SECRET_KEY={secrets.token_urlsafe(50)}\n")
    f.write(f"PII_KEYS={Fernet.generate_key().decode()}\n")
    f.write(f"PII_HASH_KEY={secrets.token_urlsafe(32)}\n")
    f.write("DEBUG=0\nHTTPS=0\n")
PY
  chmod 600 .env
fi
# The audit chain's signing key (docs/security.md), also added to a .env written before it existed.
if ! grep -q '^AUDIT_KEYS=' .env; then
  say "Adding a new audit key (AUDIT_KEYS) to .env"
  [[ -z "$(tail -c1 .env)" ]] || echo >> .env
  printf 'AUDIT_KEYS=%s\n' "$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')" >> .env
fi

# With no DATABASE_URL the local cluster is used (LOCAL_DATABASE=1 in .env once set up): start it if it is
# down, and keep its two roles (owner and runtime) in step with .env (scripts/local_database.py).
if [[ -z "${DATABASE_URL:-}" ]] && { ! grep -q '^DATABASE_URL=' .env || grep -q '^LOCAL_DATABASE=1' .env; }; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
    if [[ -z "$version" ]]; then
      version=$(ls /usr/lib/postgresql | sort -n | tail -1)
      say "Creating PostgreSQL $version cluster"
      pg_createcluster "$version" main
    fi
    say "Starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432
  fi
  .venv/bin/python scripts/local_database.py
fi

# Redis: the cache and the task queue's broker. With no REDIS_URL the local one is used, started when it is down.
if [[ -z "${REDIS_URL:-}" ]] && ! grep -q '^REDIS_URL=' .env && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "Starting Redis on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no --logfile ''
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
fi

.venv/bin/python scripts/ensure_database.py
