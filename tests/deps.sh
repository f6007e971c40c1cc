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
