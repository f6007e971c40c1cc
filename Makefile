# SPDX-License-Identifier: MIT
# sio -- a Socket.IO v4 server in C. Plain make, no configure step.
#   make            build ./sio-server (the tutorial's private-messaging chat)
#   make examples   build examples/*
#   make test       unit tests (ASan+UBSan), end-to-end tests with the real socket.io-client
#                   (against the normal and the ASan+UBSan builds), and a clang -Werror build
#   make check-symbols   fail if an object exports a symbol without the sio_ prefix
#   make clean

CFLAGS ?= -std=c11 -Wall -Wextra -Werror -pedantic -O2 -g
CPPFLAGS += -D_GNU_SOURCE
SANFLAGS = -std=c11 -Wall -Wextra -Werror -pedantic -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer

LIB_SRC = sio.c eio.c loop.c packet.c http.c ws.c json.c redis.c resp.c msgpack.c
LIB_HDR = sio.h eio.h loop.h packet.h http.h ws.h json.h redis.h resp.h msgpack.h
EXAMPLES = examples/conformance examples/echo examples/rooms examples/eio-echo
UNIT_TESTS = test_json test_http test_ws test_packet
# The chat programs (./sio-server = tutorial part 3, examples/chat-part1, examples/chat-part2) share
# application code that is not part of the library: flags and logging, the store, static files.
APP_SRC = app_common.c store.c static.c chat_redis.c
APP_HDR = app_common.h store.h static.h chat_redis.h
CHAT_EXAMPLES = examples/chat-part1 examples/chat-part2
EXAMPLES += $(CHAT_EXAMPLES)
UNIT_TESTS += test_store test_static

all: sio-server

sio-server: chat.c $(APP_SRC) $(APP_HDR) $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ chat.c $(APP_SRC) $(LIB_SRC) $(LDFLAGS)

examples: $(EXAMPLES)

examples/%: examples/%.c $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_SRC) $(LDFLAGS)

$(CHAT_EXAMPLES): examples/%: examples/%.c $(APP_SRC) $(APP_HDR) $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(APP_SRC) $(LIB_SRC) $(LDFLAGS)

# The test server of tests/e2e/semantics*.test.mjs (every issue-3 semantic, driven by events).
build/semantics: tests/servers/semantics.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/servers/semantics.c $(LIB_SRC) $(LDFLAGS)

# ---- ASan+UBSan builds (build/asan/) ----
build/asan/semantics: tests/servers/semantics.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/servers/semantics.c $(LIB_SRC)

build/asan/sio-server: chat.c $(APP_SRC) $(APP_HDR) $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan/examples
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ chat.c $(APP_SRC) $(LIB_SRC)

build/asan/examples/%: examples/%.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan/examples
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ $< $(LIB_SRC)

$(addprefix build/asan/,$(CHAT_EXAMPLES)): build/asan/examples/%: examples/%.c $(APP_SRC) $(APP_HDR) $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan/examples
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ $< $(APP_SRC) $(LIB_SRC)

build/asan/test_store: tests/test_store.c store.c store.h json.c json.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_store.c store.c json.c -lm

build/asan/test_static: tests/test_static.c static.c static.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_static.c static.c

build/asan/test_json: tests/test_json.c json.c json.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_json.c json.c -lm

build/asan/test_http: tests/test_http.c http.c http.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_http.c http.c

build/asan/test_ws: tests/test_ws.c ws.c ws.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_ws.c ws.c

build/asan/test_packet: tests/test_packet.c packet.c packet.h json.c json.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_packet.c packet.c json.c -lm

# ---- bench (begin) ----
# make bench: the load generator, the relay server on the public API, and the ceiling server
# (bench/README.md; bench/compare.sh runs them against sio, Node and the ceiling).
BENCH_BIN = bench/sio-bench bench/relay-server bench/ceiling

bench: $(BENCH_BIN)

bench/sio-bench: bench/sio-bench.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ bench/sio-bench.c -lm

bench/relay-server: bench/relay-server.c $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ bench/relay-server.c $(LIB_SRC) $(LDFLAGS) -lm

bench/ceiling: bench/ceiling.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ bench/ceiling.c

bench-clean:
	rm -f $(BENCH_BIN)

.PHONY: bench bench-clean
# ---- bench (end) ----

# ---- hardening (begin) ----
# Issue 6: the hostile-input / fault / soak test server (tests/servers/hardening.c) and its runs.
#   tests/e2e/bad-*.test.mjs   run by test-e2e and test-e2e-asan (SIO_HARDENING names the build)
#   make soak            thousands of clients connecting, chatting and leaving, bad clients of every
#                        kind mixed in, SOAK_HOLD of them connected all along; at the end the
#                        server's descriptors and RSS must be back to the baseline and it must stop
#                        cleanly. Bounded: SOAK_SECONDS of load (at least SOAK_CLIENTS clients).
#   make test-valgrind   build/hardening under valgrind --leak-check=full --error-exitcode=99:
#                        the bad-*.test.mjs suites, then a short soak; both must be clean.
build/hardening: tests/servers/hardening.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/servers/hardening.c $(LIB_SRC) $(LDFLAGS)

build/asan/hardening: tests/servers/hardening.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/servers/hardening.c $(LIB_SRC)

test-e2e: build/hardening
test-e2e: export SIO_HARDENING = $(CURDIR)/build/hardening
test-e2e-asan: build/asan/hardening
test-e2e-asan: export SIO_HARDENING = $(CURDIR)/build/asan/hardening

SOAK_SECONDS ?= 120
SOAK_CLIENTS ?= 3000
SOAK_HOLD ?= 1000
VALGRIND_SECONDS ?= 40
VALGRIND_CLIENTS ?= 300

soak: build/hardening tests/node_modules/.installed
	@echo "== soak: $(SOAK_SECONDS) s, at least $(SOAK_CLIENTS) clients, $(SOAK_HOLD) held, against build/hardening"
	node tests/soak/soak.mjs --server $(CURDIR)/build/hardening --seconds $(SOAK_SECONDS) --clients $(SOAK_CLIENTS) --hold $(SOAK_HOLD)

test-valgrind: build/hardening tests/node_modules/.installed
	@command -v valgrind >/dev/null 2>&1 || { echo "valgrind is not installed (apt-get install -y valgrind)"; exit 1; }
	@# Both runs always run; the target fails if either did.
	@rc=0; \
	echo "== valgrind --leak-check=full: the bad-input suites against build/hardening"; \
	SIO_VALGRIND=1 SIO_VALGRIND_BIN=$(CURDIR)/build/hardening SIO_HARDENING=$(CURDIR)/tests/soak/valgrind-server.sh \
		node --test tests/e2e/bad-*.test.mjs || rc=1; \
	echo "== valgrind --leak-check=full: a short soak (chat flows, every bad input mixed in)"; \
	node tests/soak/soak.mjs --valgrind --server $(CURDIR)/build/hardening --seconds $(VALGRIND_SECONDS) --clients $(VALGRIND_CLIENTS) || rc=1; \
	exit $$rc

.PHONY: soak test-valgrind
# ---- hardening (end) ----

# ---- fuzz (begin) ----
# Issue 6: a libFuzzer target per parser and one that drives whole connections from bytes
# (tests/fuzz/README.md). Seeds in tests/fuzz/corpus/<target>/, tokens in tests/fuzz/<target>.dict.
#   make fuzz               clang -fsanitize=fuzzer,address,undefined; runs each target for
#                           FUZZ_SECONDS (default 60), one process at a time; FUZZ_TARGETS picks some.
#                           New inputs go to build/fuzz/corpus/<target>/, crashes to
#                           build/fuzz/crash-<target>-*. SKIPPED (loudly) without clang/libFuzzer.
#   make fuzz-merge         adds what those runs found to tests/fuzz/corpus/ (-merge=1 -use_counters=0:
#                           only inputs that reach new edges, so the corpus stays small)
#   make test-fuzz-replay   no libFuzzer: every target built with $(CC) and ASan+UBSan, run over
#                           its seed corpus (tests/fuzz/replay.c), a few seconds in all
FUZZ_TARGETS ?= http ws json eio sio conn
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -std=c11 -Wall -Wextra -Werror -pedantic -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SRC_http = http.c
FUZZ_SRC_ws = ws.c
FUZZ_SRC_json = json.c
FUZZ_SRC_eio = packet.c json.c ws.c
FUZZ_SRC_sio = packet.c json.c
FUZZ_SRC_conn = $(LIB_SRC)
# Small HTTP limits, so that short inputs reach the 414/431 boundaries; a short linger for
# closed polling sessions, so that they go away between inputs.
FUZZ_DEFS_http = -DSIO_HTTP_MAX_HEAD=1024 -DSIO_HTTP_MAX_TARGET=256 -DSIO_HTTP_MAX_HEADERS=16
FUZZ_DEFS_conn = -DSIO_CLOSE_GRACE_MS=10
FUZZ_DEPS = tests/fuzz/fuzz.h $(LIB_SRC) $(LIB_HDR)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined $(FUZZ_DEFS_$*) -o $@ $< $(FUZZ_SRC_$*) -lm

build/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p build/fuzz-replay
	$(CC) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=address,undefined $(FUZZ_DEFS_$*) -o $@ $< tests/fuzz/replay.c $(FUZZ_SRC_$*) -lm

fuzz:
	@mkdir -p build/fuzz
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1 || \
		! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return (int)(d[0] * 0 + n * 0); }' | \
		$(FUZZ_CC) -fsanitize=fuzzer -x c - -o build/fuzz/.probe >/dev/null 2>&1; then \
		echo "################################################################"; \
		echo "### SKIPPED: make fuzz -- $(FUZZ_CC) with libFuzzer not found"; \
		echo "### (apt-get install -y clang libclang-rt-14-dev)"; \
		echo "################################################################"; \
		exit 0; \
	fi; \
	failed=""; \
	for t in $(FUZZ_TARGETS); do \
		$(MAKE) --no-print-directory fuzz-run-$$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: crashes in:$$failed (see build/fuzz/<target>.log)"; exit 1; fi; \
	echo "make fuzz: no crash in $(FUZZ_TARGETS)"

# One target for FUZZ_SECONDS. conn keeps state between inputs (sessions linger until their
# timers fire), so libFuzzer's per-input leak check would rescan the heap after nearly every
# input; its leaks are caught at exit instead, when the server has been shut down and freed.
FUZZ_RUN_conn = -detect_leaks=0
fuzz-run-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus/$*
	@echo "== fuzz: $* for $(FUZZ_SECONDS) s"
	@./build/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 $(FUZZ_RUN_$*) \
		-dict=tests/fuzz/$*.dict -artifact_prefix=build/fuzz/crash-$*- -print_final_stats=1 \
		build/fuzz/corpus/$* tests/fuzz/corpus/$* > build/fuzz/$*.log 2>&1; rc=$$?; \
	grep -E 'DONE|^stat::number_of_executed_units|^stat::peak_rss_mb' build/fuzz/$*.log; exit $$rc

fuzz-merge:
	@for t in $(FUZZ_TARGETS); do \
		test -x build/fuzz/fuzz_$$t -a -d build/fuzz/corpus/$$t || continue; \
		./build/fuzz/fuzz_$$t -merge=1 -use_counters=0 tests/fuzz/corpus/$$t build/fuzz/corpus/$$t 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files'; \
	done

test-fuzz-replay: $(addprefix build/fuzz-replay/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		echo "== fuzz replay: $$t (ASan+UBSan, tests/fuzz/corpus/$$t)"; \
		./build/fuzz-replay/fuzz_$$t tests/fuzz/corpus/$$t || exit 1; \
	done

.PHONY: fuzz fuzz-merge test-fuzz-replay
# ---- fuzz (end) ----

# ---- redis (begin) ----
# Issue 7: the Redis foundation, one module per job -- resp.c (RESP2 reply parser and command
# encoder), msgpack.c (notepack-compatible msgpack <-> JSON text), redis.c (non-blocking client on
# the loop) -- with their unit tests and fuzz targets.
#   make test-redis-unit         test_resp and test_msgpack, then test_redis against a real
#                                redis-server that it starts on a free loopback port and stops
#                                (SKIPPED, loudly, without redis-server); all ASan+UBSan
#   make test-redis-clang        the same three tests built warning-free with clang and run
#   make check-symbols-redis     the three objects export only sio_ symbols
#   make test-fuzz-replay-redis  fuzz_resp and fuzz_msgpack over their seed corpora (ASan+UBSan)
#   make fuzz FUZZ_TARGETS="resp msgpack"   libFuzzer runs, through the fuzz block's rules
REDIS_SRC = resp.c msgpack.c redis.c
REDIS_HDR = resp.h msgpack.h redis.h
REDIS_UNIT_TESTS = test_resp test_msgpack test_redis
# test_redis uses small limits, so that every limit path is reached with little data: a 512 KiB
# bulk limit, 1 MiB input, 2 MiB output, reconnect delays of at most 400 ms.
REDIS_TEST_DEFS = -DSIO_RESP_MAX_BULK=524288 -DSIO_REDIS_MAX_INBUF=1048576 \
	-DSIO_REDIS_MAX_OUTBUF=2097152 -DSIO_REDIS_BACKOFF_MAX_MS=400

build/asan/test_resp: tests/test_resp.c resp.c resp.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_resp.c resp.c

build/asan/test_msgpack: tests/test_msgpack.c msgpack.c msgpack.h json.c json.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_msgpack.c msgpack.c json.c -lm

build/asan/test_redis: tests/test_redis.c redis.c redis.h resp.c resp.h loop.c loop.h tests/test.h
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) $(REDIS_TEST_DEFS) -o $@ tests/test_redis.c redis.c resp.c loop.c

test-redis-unit: $(addprefix build/asan/,$(REDIS_UNIT_TESTS))
	@for t in $(REDIS_UNIT_TESTS); do echo "== unit: $$t (ASan+UBSan)"; ./build/asan/$$t || exit 1; done

test-redis-clang:
	@if command -v clang >/dev/null 2>&1; then \
		echo "== clang -Wall -Wextra -Werror: resp, msgpack, redis"; \
		mkdir -p build/clang && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_resp tests/test_resp.c resp.c && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_msgpack tests/test_msgpack.c msgpack.c json.c -lm && \
		clang $(CPPFLAGS) $(CFLAGS) $(REDIS_TEST_DEFS) -o build/clang/test_redis tests/test_redis.c redis.c resp.c loop.c && \
		for t in $(REDIS_UNIT_TESTS); do ./build/clang/$$t >/dev/null || { echo "clang build of $$t failed its run"; exit 1; }; done && \
		echo "test-redis-clang: ok"; \
	else \
		echo "################################################################"; \
		echo "### SKIPPED: clang build check (clang is not installed)      ###"; \
		echo "################################################################"; \
	fi

check-symbols-redis:
	@mkdir -p build/sym
	@for f in $(REDIS_SRC); do $(CC) $(CPPFLAGS) $(CFLAGS) -c $$f -o build/sym/$${f%.c}.o || exit 1; done
	@bad=$$(nm -g --defined-only $(patsubst %.c,build/sym/%.o,$(REDIS_SRC)) | awk '$$2 ~ /[TDBR]/ {print $$3}' | grep -v '^sio_' || true); \
	if [ -n "$$bad" ]; then echo "symbols without the sio_ prefix:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols-redis: every exported symbol starts with sio_"

# Fuzz targets: the fuzz block's pattern rules build them from these source lists; the extra
# prerequisites rebuild them when these modules change.
FUZZ_SRC_resp = resp.c
FUZZ_SRC_msgpack = msgpack.c json.c
build/fuzz/fuzz_resp build/fuzz-replay/fuzz_resp: resp.c resp.h
build/fuzz/fuzz_msgpack build/fuzz-replay/fuzz_msgpack: msgpack.c msgpack.h json.c json.h

test-fuzz-replay-redis: build/fuzz-replay/fuzz_resp build/fuzz-replay/fuzz_msgpack
	@for t in resp msgpack; do \
		echo "== fuzz replay: $$t (ASan+UBSan, tests/fuzz/corpus/$$t)"; \
		./build/fuzz-replay/fuzz_$$t tests/fuzz/corpus/$$t || exit 1; \
	done

.PHONY: test-redis-unit test-redis-clang check-symbols-redis test-fuzz-replay-redis
# ---- redis (end) ----

# ---- redis-e2e (begin) ----
# Issue 7, end to end: tests/e2e/redis-cluster.test.mjs runs sio nodes (./sio-server --redis) and a
# Node reference peer (tests/redis-peer: socket.io + @socket.io/redis-adapter, pinned in its own
# package-lock.json) against a redis-server it starts on a free loopback port (SKIPPED, loudly,
# without redis-server; tests/deps.sh installs it as root). The peer's packages come from npm ci.
# tests/e2e/redis-acks.test.mjs does the same for broadcasts with acks and socketsJoin/Leave/
# disconnectSockets, with build/semantics --redis as the sio nodes.
tests/redis-peer/node_modules/.installed: tests/redis-peer/package.json tests/redis-peer/package-lock.json tests/node_modules/.installed
	cd tests/redis-peer && npm ci --no-audit --no-fund
	@touch $@

test-e2e: tests/redis-peer/node_modules/.installed
test-e2e-asan: tests/redis-peer/node_modules/.installed
# ---- redis-e2e (end) ----

# ---- nginx (begin) ----
# Issue 7, sticky sessions: options.sid_prefix (./sio-server --sid-prefix) marks a node's Engine.IO
# sids, so that nginx can route polling requests by sid (examples/nginx/*.conf, README).
#   test_sid_prefix             in test-unit (ASan+UBSan): sio_server_new() refuses bad prefixes;
#                               every sid a server makes begins with its prefix
#   tests/e2e/nginx.test.mjs    in test-e2e and test-e2e-asan: the example configurations with a
#                               real nginx, redis-server and 2 or 3 nodes (SKIPPED, loudly, without
#                               nginx or redis-server; tests/deps.sh installs them as root)
UNIT_TESTS += test_sid_prefix

build/asan/test_sid_prefix: tests/test_sid_prefix.c tests/test.h $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/test_sid_prefix.c $(LIB_SRC) -lm
# ---- nginx (end) ----

# ---- Tests ----
export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1

test: deps test-unit test-redis-unit test-fuzz-replay test-fuzz-replay-redis check-symbols test-clang test-redis-clang \
      test-e2e test-e2e-asan
	@echo "make test: all suites passed"

test-unit: $(addprefix build/asan/,$(UNIT_TESTS))
	@for t in $(UNIT_TESTS); do echo "== unit: $$t (ASan+UBSan)"; ./build/asan/$$t || exit 1; done

# What the suites need from Debian (see tests/deps.sh): installed when root, else named.
deps:
	@sh tests/deps.sh

tests/node_modules/.installed: tests/package.json tests/package-lock.json
	sh tests/deps.sh
	cd tests && npm ci --no-audit --no-fund
	@touch $@

test-e2e: sio-server examples build/semantics tests/node_modules/.installed
	@echo "== end-to-end: real socket.io-client against ./sio-server and examples/"
	SIO_SEMANTICS=$(CURDIR)/build/semantics node --test tests/e2e/

test-e2e-asan: build/asan/sio-server $(addprefix build/asan/,$(EXAMPLES)) build/asan/semantics tests/node_modules/.installed
	@echo "== end-to-end again, against the ASan+UBSan build"
	SIO_SERVER=$(CURDIR)/build/asan/sio-server SIO_CONFORMANCE=$(CURDIR)/build/asan/examples/conformance \
		SIO_SEMANTICS=$(CURDIR)/build/asan/semantics SIO_ECHO=$(CURDIR)/build/asan/examples/echo \
		SIO_ROOMS=$(CURDIR)/build/asan/examples/rooms SIO_EIO_ECHO=$(CURDIR)/build/asan/examples/eio-echo \
		SIO_CHAT1=$(CURDIR)/build/asan/examples/chat-part1 SIO_CHAT2=$(CURDIR)/build/asan/examples/chat-part2 \
		node --test tests/e2e/

# The whole tree must build warning-free under clang too.
test-clang:
	@if command -v clang >/dev/null 2>&1; then \
		echo "== clang -Wall -Wextra -Werror"; \
		mkdir -p build/clang && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/sio-server chat.c $(APP_SRC) $(LIB_SRC) && \
		for e in $(EXAMPLES); do clang $(CPPFLAGS) $(CFLAGS) -o build/clang/$${e#examples/} $$e.c $(APP_SRC) $(LIB_SRC) || exit 1; done && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_store tests/test_store.c store.c json.c -lm && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_static tests/test_static.c static.c && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/semantics tests/servers/semantics.c $(LIB_SRC) && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_json tests/test_json.c json.c -lm && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_http tests/test_http.c http.c && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_ws tests/test_ws.c ws.c && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_packet tests/test_packet.c packet.c json.c -lm; \
	else \
		echo "################################################################"; \
		echo "### SKIPPED: clang build check (clang is not installed)      ###"; \
		echo "################################################################"; \
	fi

# ---- Library and install ----
PREFIX ?= /usr/local
LIB_OBJ = $(patsubst %.c,build/lib/%.o,$(LIB_SRC))

build/lib/%.o: %.c $(LIB_HDR)
	@mkdir -p build/lib
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

libsio.a: $(LIB_OBJ)
	$(AR) rcs $@ $(LIB_OBJ)

# Installs sio-server, libsio.a, the public headers and a pkg-config file:
#   make install PREFIX=/usr DESTDIR=/tmp/pkg ; cc app.c $(pkg-config --cflags --libs sio)
install: sio-server libsio.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/sio
	install -m 755 sio-server $(DESTDIR)$(PREFIX)/bin/sio-server
	install -m 644 libsio.a $(DESTDIR)$(PREFIX)/lib/libsio.a
	install -m 644 sio.h json.h $(DESTDIR)$(PREFIX)/include/sio/
	printf 'prefix=%s\nincludedir=$${prefix}/include/sio\nlibdir=$${prefix}/lib\n\nName: sio\nDescription: Socket.IO v4 server in C\nVersion: %s\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lsio\n' \
		'$(PREFIX)' "$$(sed -n 's/^#define SIO_VERSION "\(.*\)"/\1/p' sio.h)" > $(DESTDIR)$(PREFIX)/lib/pkgconfig/sio.pc

# Every exported function must start with sio_ (mongoose's mg_prefix check).
check-symbols:
	@mkdir -p build/sym
	@for f in $(LIB_SRC); do $(CC) $(CPPFLAGS) $(CFLAGS) -c $$f -o build/sym/$${f%.c}.o || exit 1; done
	@bad=$$(nm -g --defined-only build/sym/*.o | awk '$$2 ~ /[TDBR]/ {print $$3}' | grep -v '^sio_' || true); \
	if [ -n "$$bad" ]; then echo "symbols without the sio_ prefix:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols: every exported symbol starts with sio_"

clean:
	rm -rf build sio-server libsio.a $(EXAMPLES)

.PHONY: deps install all examples test test-unit test-e2e test-e2e-asan test-clang check-symbols clean
