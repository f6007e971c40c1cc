#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a server binary under valgrind, in the same process (exec), so that tests that start
# "$SIO_HARDENING" and read /proc/<pid> see the server itself. Used by `make test-valgrind`:
#   SIO_VALGRIND_BIN=build/hardening SIO_HARDENING=tests/soak/valgrind-server.sh node --test ...
# valgrind's report goes to stderr (the tests quote it); any error makes the exit status 99,
# which fails the test that stops the server.
exec valgrind --quiet --leak-check=full --error-exitcode=99 "${SIO_VALGRIND_BIN:?set SIO_VALGRIND_BIN}" "$@"
