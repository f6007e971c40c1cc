#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what the test suites need and is not on a fresh machine. Run by `make test`.
# As root it installs missing Debian packages with apt-get; otherwise it names them and the
# suites that need them are reported SKIPPED by the Makefile.
set -e
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  else
    echo "deps: MISSING:$missing (run as root to install them with apt-get)" >&2
    exit 1
  fi
fi
# The second, independent client of the end-to-end tests (python-socketio, Debian's package).
# Optional: without it those tests print a SKIPPED banner.
pymissing=""
if ! /usr/bin/python3 -c 'import socketio' >/dev/null 2>&1; then
  pymissing="python3-socketio python3-requests python3-websocket"
else
  /usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || pymissing="$pymissing python3-requests"
  /usr/bin/python3 -c 'import websocket' >/dev/null 2>&1 || pymissing="$pymissing python3-websocket"
fi
if [ -n "$pymissing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing $pymissing with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pymissing; } ||
      echo "deps: could not install $pymissing; the python-socketio tests will be SKIPPED" >&2
  else
    echo "deps: MISSING: $pymissing (run as root to install them with apt-get); the python-socketio tests will be SKIPPED" >&2
  fi
fi
# The browser test (tests/e2e/browser.test.mjs) drives Debian's chromium with playwright-core
# (no browser download). Optional: without it that test prints a SKIPPED banner.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing chromium with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } ||
      echo "deps: could not install chromium; the browser test will be SKIPPED" >&2
  else
    echo "deps: MISSING: chromium (run as root to install it with apt-get); the browser test will be SKIPPED" >&2
  fi
fi
# The Redis cluster tests (tests/e2e/redis-cluster.test.mjs) start their own redis-server (Debian's).
# Optional: without it those tests print a SKIPPED banner.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing redis-server with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } ||
      echo "deps: could not install redis-server; the Redis cluster tests will be SKIPPED" >&2
  else
    echo "deps: MISSING: redis-server (run as root to install it with apt-get); the Redis cluster tests will be SKIPPED" >&2
  fi
fi
