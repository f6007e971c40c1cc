#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what the test suites need and is not on a fresh machine. Run first by `make test`.
# As root it installs the missing Debian packages with one apt-get run; otherwise it names them,
# and the suites that need them print a loud SKIPPED banner when they run.
#   required: node, npm (the end-to-end tests)
#   optional: clang (the clang -Werror build), python3-socketio & co. (the second client),
#             chromium (the browser test), redis-server (the Redis tests), nginx (the nginx tests;
#             on a machine with a service manager its package also starts a system nginx on port
#             80, which the tests do not use: they run their own, on free loopback ports)
set -e
need=""     # required packages missing
want=""     # optional packages missing
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v clang >/dev/null 2>&1 || want="$want clang"
/usr/bin/python3 -c 'import socketio' >/dev/null 2>&1 || want="$want python3-socketio"
/usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || want="$want python3-requests"
/usr/bin/python3 -c 'import websocket' >/dev/null 2>&1 || want="$want python3-websocket"
[ -x /usr/bin/chromium ] || want="$want chromium"
command -v redis-server >/dev/null 2>&1 || want="$want redis-server"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || want="$want nginx"

if [ -z "$need$want" ]; then
  echo "deps: everything the tests use is installed"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing$need$want with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends $need $want; then
    exit 0
  fi
  # One optional package failing must not cost the others: try them one by one.
  [ -z "$need" ] || apt-get install -y -qq --no-install-recommends $need
  for p in $want; do
    apt-get install -y -qq --no-install-recommends "$p" || echo "deps: could not install $p: the tests that need it will be SKIPPED" >&2
  done
  exit 0
fi
[ -z "$want" ] || echo "deps: MISSING:$want (run make test as root to install them); the tests that need them will be SKIPPED" >&2
if [ -n "$need" ]; then
  echo "deps: MISSING:$need, required by the end-to-end tests" >&2
  exit 1
fi
