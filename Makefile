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
EXAMPLES = examples/conformance examples/echo examples/rooms examples/eio-echo
UNIT_TESTS = test_json test_http test_ws test_packet

all: sio-server

sio-server: chat.c $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ chat.c $(LIB_SRC) $(LDFLAGS)

examples: $(EXAMPLES)

examples/%: examples/%.c $(LIB_SRC) $(LIB_HDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_SRC) $(LDFLAGS)

# The test server of tests/e2e/semantics*.test.mjs (every issue-3 semantic, driven by events).
build/semantics: tests/servers/semantics.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/servers/semantics.c $(LIB_SRC) $(LDFLAGS)

# ---- ASan+UBSan builds (build/asan/) ----
build/asan/semantics: tests/servers/semantics.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p build/asan
	$(CC) $(CPPFLAGS) $(SANFLAGS) -o $@ tests/servers/semantics.c $(LIB_SRC)

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

test-e2e: sio-server examples build/semantics tests/node_modules/.installed
	@echo "== end-to-end: real socket.io-client against ./sio-server and examples/"
	SIO_SEMANTICS=$(CURDIR)/build/semantics node --test tests/e2e/

test-e2e-asan: build/asan/sio-server $(addprefix build/asan/,$(EXAMPLES)) build/asan/semantics tests/node_modules/.installed
	@echo "== end-to-end again, against the ASan+UBSan build"
	SIO_SERVER=$(CURDIR)/build/asan/sio-server SIO_CONFORMANCE=$(CURDIR)/build/asan/examples/conformance \
		SIO_SEMANTICS=$(CURDIR)/build/asan/semantics SIO_ECHO=$(CURDIR)/build/asan/examples/echo \
		SIO_ROOMS=$(CURDIR)/build/asan/examples/rooms SIO_EIO_ECHO=$(CURDIR)/build/asan/examples/eio-echo \
		node --test tests/e2e/

# The whole tree must build warning-free under clang too.
test-clang:
	@if command -v clang >/dev/null 2>&1; then \
		echo "== clang -Wall -Wextra -Werror"; \
		mkdir -p build/clang && \
		clang $(CPPFLAGS) $(CFLAGS) -o build/clang/sio-server chat.c $(LIB_SRC) && \
		for e in $(EXAMPLES); do clang $(CPPFLAGS) $(CFLAGS) -o build/clang/$${e#examples/} $$e.c $(LIB_SRC) || exit 1; done && \
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

.PHONY: install all examples test test-unit test-e2e test-e2e-asan test-clang check-symbols clean
