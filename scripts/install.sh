#!/usr/bin/env bash
# Install everything sweep needs on a fresh Debian/Ubuntu machine: redis-server and chromium
# (apt) and the Python package with its dev extra (pip).  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# redis-server: the shared state; chromium: the tests render the HTML reports headless
if ! command -v redis-server >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  fresh_redis=0
  command -v redis-server >/dev/null 2>&1 || fresh_redis=1
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server chromium >/dev/null
  if [ "$fresh_redis" = 1 ]; then
    # the Debian service is not needed (sweep starts its own servers on 127.0.0.1), and it
    # would hold 6379, the Ray head's default GCS port; a Redis you already ran is left alone
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
fi
# the versions pinned in constraints.txt, the same every cluster node installs
python3 -m pip install -q -c constraints.txt -e '.[dev]'
echo "installed: $(redis-server --version | cut -d' ' -f1-3), $(sweep --version)"
