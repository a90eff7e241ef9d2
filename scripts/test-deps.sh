#!/usr/bin/env bash
# Makes sure the programs the test suite needs are installed: redis-server
# (integration tests start their own on a free port), Chromium (browser
# end-to-end tests) and Node.js with npm (type-checking the web app).
# As root with apt-get it installs what is missing; otherwise it says what to
# install and fails, so a missing dependency never turns into a skipped test.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  exit 0
fi

echo "test-deps: missing: ${missing[*]}" >&2
echo "test-deps: install them, e.g.: sudo apt-get install ${missing[*]}" >&2
exit 1
