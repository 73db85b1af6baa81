#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages and builds the project:
#   - npm dependencies (npm install)
#   - Debian's python3-autobahn (the independent WAMP client used for conformance tests)
#   - Debian's influxdb (the real InfluxDB the data-path tests start on a loopback port)
#   - Debian's docker-compose (checks docker-compose.yml with `config -q`; needs no docker engine)
#   - Debian's prometheus (its promtool lints the /metrics the router and agents serve)
#   - Debian's chromium (the headless browser Playwright drives in the console tests)
# Debian packages are installed with apt-get when run as root; otherwise the script checks
# they are present and says what to install.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

DEB_PACKAGES=(python3-autobahn python3-twisted python3-msgpack influxdb influxdb-client docker-compose prometheus chromium)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends keeps the install small; policy-rc.d stops the package from
    # starting a system-wide influxd (the tests start their own on a loopback port).
    # A policy-rc.d the machine already has is put back afterwards, also when the install fails.
    if [ -e /usr/sbin/policy-rc.d ]; then
      mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.ocs-saved
      trap 'mv -f /usr/sbin/policy-rc.d.ocs-saved /usr/sbin/policy-rc.d' EXIT
    else
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
