# cairn - top-level build. One non-recursive Makefile; objects go under $(B).
#   make            build every binary into $(B)/bin
#   make test       install packages if missing, build, run unit + integration tests
#   make test-asan  the same tests under AddressSanitizer and UBSan (build-asan/)
#   make dev        install, build and start a single-node dev agent
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
B	?= build
.DEFAULT_GOAL := all
CC	?= cc
# CFLAGS is the user's (optimisation, sanitizers); XCFLAGS always applies.
CFLAGS	?= -O2 -g
XCFLAGS	= -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	  -D_GNU_SOURCE -Icommon -MMD -MP
LDFLAGS	?=
EXTLIBS	= -lev -lyajl -ldb -lcares -lcurl -lhttp_parser -lcrypto -lm

DAEMONS	= gossipd raftd kvd dnsd httpd checkd
BINS	= $(DAEMONS:%=$(B)/bin/cairn-%) $(B)/bin/cairn

common_src	= $(wildcard common/*.c)
define dir_lib
$(1)_src  = $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(B)/lib$(1).a: $$(patsubst %.c,$(B)/%.o,$$($(1)_src))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach d,$(DAEMONS) cli,$(eval $(call dir_lib,$(d))))

LIBS	= $(DAEMONS:%=$(B)/lib%.a) $(B)/libcli.a $(B)/libcairn.a

all: $(BINS)

$(B)/libcairn.a: $(patsubst %.c,$(B)/%.o,$(common_src))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/bin/cairn-%: $(B)/%/main.o $(B)/lib%.a $(B)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(EXTLIBS)

$(B)/bin/cairn: $(B)/cli/main.o $(B)/libcli.a $(B)/libcairn.a
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(EXTLIBS)

# Unit tests: tests/unit/test_<module>.c, linked against every library.
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
$(B)/tests/%: tests/unit/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) -Itests/unit $(DAEMONS:%=-I%) -Icli $(LDFLAGS) -o $@ $< $(LIBS) $(EXTLIBS)

units: $(UNIT_BIN)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

test: test-deps
	$(MAKE) all units
	B=$(B) tests/run.sh

SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-asan: test-deps
	$(MAKE) B=build-asan CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" all units
	B=build-asan tests/run.sh

dev: deps
	$(MAKE) all
	exec $(B)/bin/cairn agent -dev

# Fuzz targets: fuzz/fuzz_<name>.c, clang's libFuzzer with ASan.
FUZZ_SRC = $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN = $(patsubst fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS = -O1 -g -std=gnu11 -D_GNU_SOURCE -Icommon $(DAEMONS:%=-I%) \
	      -fsanitize=fuzzer,address,undefined
FUZZ_LIBCFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined
build-fuzz/%: fuzz/%.c
	$(MAKE) B=build-fuzz CC=clang CFLAGS="$(FUZZ_LIBCFLAGS)" $(LIBS:$(B)/%=build-fuzz/%)
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIBS:$(B)/%=build-fuzz/%) $(EXTLIBS)
fuzz: test-deps $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
		n=$$(basename $$f); log=build-fuzz/$$n.log; \
		seeds=fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
		mkdir -p build-fuzz/corpus/$$n; \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
		if $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
		    build-fuzz/corpus/$$n $$seeds >$$log 2>&1; then \
			tail -2 $$log; \
		else \
			tail -40 $$log; \
			echo "fuzz: $$n FAILED; full output in $$log" >&2; \
			exit 1; \
		fi; \
	done

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all units deps test-deps test test-asan dev fuzz install clean
.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
