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

LIB_SRC = sio.c eio.c loop.c packet.c http.c ws.c json.c
LIB_HDR = sio.h eio.h loop.h packet.h http.h ws.h json.h
EXAMPLES = examples/conformance
UNIT_TESTS = test_json test_http test_ws test_packet

all: sio-server

sio-server: chat.c $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ chat.c $(LIB_SRC) $(LDFLAGS)

examples: $(EXAMPLES)

examples/%: examples/%.c $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_SRC) $(LDFLAGS)

# ---- ASan+UBSan builds (build/asan/) ----
build/asan/sio-server: chat.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan/examples
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ chat.c $(LIB_SRC)

build/asan/examples/%: examples/%.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan/examples
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ $< $(LIB_SRC)

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

# ---- Tests ----
export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1

test: test-unit test-e2e test-e2e-asan test-clang
	@echo "make test: all suites passed"

test-unit: $(addprefix build/asan/,$(UNIT_TESTS))
	@for t in $(UNIT_TESTS); do echo "== unit: $$t (ASan+UBSan)"; ./build/asan/$$t || exit 1; done

tests/node_modules/.installed: tests/package.json tests/package-lock.json
	sh tests/deps.sh
	cd tests && npm ci --no-audit --no-fund
	@touch $@

test-e2e: sio-server examples tests/node_modules/.installed
	@echo "== end-to-end: real socket.io-client against ./sio-server and examples/"
	node --test tests/e2e/

test-e2e-asan: build/asan/sio-server $(addprefix build/asan/,$(EXAMPLES)) tests/node_modules/.installed
	@echo "== end-to-end again, against the ASan+UBSan build"
	SIO_SERVER=$(CURDIR)/build/asan/sio-server SIO_CONFORMANCE=$(CURDIR)/build/asan/examples/conformance \
		node --test tests/e2e/

# The whole tree must build warning-free under clang too.
test-clang:
	@if command -v clang >/dev/null 2>&1; then \
		echo "== clang -Wall -Wextra -Werror"; \
		mkdir -p build/clang && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/sio-server chat.c $(LIB_SRC) && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/conformance examples/conformance.c $(LIB_SRC) && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_json tests/test_json.c json.c -lm && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_http tests/test_http.c http.c && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_ws tests/test_ws.c ws.c && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/test_packet tests/test_packet.c packet.c json.c -lm; \
	else \
		echo "################################################################"; \
		echo "### SKIPPED: clang build check (clang is not installed)      ###"; \
		echo "################################################################"; \
	fi

# Every exported function must start with sio_ (mongoose's mg_prefix check).
check-symbols:
	@mkdir -p build/sym
	@for f in $(LIB_SRC); do $(CC) $(CPPFLAGS) $(CFLAGS) -c $$f -o build/sym/$${f%.c}.o || exit 1; done
	@bad=$$(nm -g --defined-only build/sym/*.o | awk '$$2 ~ /[TDBR]/ {print $$3}' | grep -v '^sio_' || true); \
	if [ -n "$$bad" ]; then echo "symbols without the sio_ prefix:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols: every exported symbol starts with sio_"

clean:
	rm -rf build sio-server $(EXAMPLES)

.PHONY: all examples test test-unit test-e2e test-e2e-asan test-clang check-symbols clean
