#!/usr/bin/env bash
# Set everything up, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The production-instance tests start their own PostgreSQL server on loopback; they need its programs.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  echo "test: installing PostgreSQL (for the production-instance tests)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
         --no-install-recommends postgresql >/dev/null; }; then
    echo "test: PostgreSQL could not be installed; its tests will be skipped with this reason" >&2
    export NSI_POSTGRES_UNAVAILABLE="apt-get install postgresql failed in scripts/test.sh"
  fi
fi
# Two workers, one test file each at a time: a file's fixtures are built once, in its worker.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
