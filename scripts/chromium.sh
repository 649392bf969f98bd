#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests, and print its path.
#
#   scripts/chromium.sh          # install `chromium` with apt-get when missing; print the binary
#   scripts/chromium.sh path     # print the binary only (exit 1 when it is not installed)
#
# The browser tests (tests/e2e/test_browser.py) call this from their fixture and FAIL (never
# skip) when it cannot provide a browser. Nothing is downloaded except Debian's own package:
# Playwright (from PyPI) drives this binary; it never fetches a browser build of its own.
# Concurrent callers (pytest-xdist workers) are serialised by a lock file.
set -euo pipefail

LOCK_FILE="/tmp/tenantlake-chromium.lock"
log() { echo "chromium.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_chromium() {
    local c
    for c in /usr/bin/chromium /usr/bin/chromium-browser; do
        if [[ -x "$c" ]]; then echo "$c"; return 0; fi
    done
    return 1
}

if [[ "${1:-}" == "path" ]]; then
    find_chromium || die "Chromium is not installed (run scripts/chromium.sh to install it)"
    exit 0
fi

exec 9>"$LOCK_FILE"
flock -w 900 9 || die "another install holds $LOCK_FILE for over 15 minutes"
if bin="$(find_chromium)"; then
    echo "$bin"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 \
    || die "Chromium is missing and there is no apt-get to install it; install Debian's chromium"
log "installing Debian's chromium with apt-get (first browser-test run on this machine)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >&2; then
    log "apt-get install failed; refreshing the package lists once and retrying"
    apt-get update >&2 || die "apt-get update failed"
    apt-get install -y --no-install-recommends chromium >&2 || die "apt-get install chromium failed"
fi
find_chromium || die "apt-get reported success but no chromium binary is on /usr/bin"
