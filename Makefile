# cabanas - a plain Makefile on pkg-config.
#   make            build build/cabanas
#   make run        install what is missing, build, migrate + seed ./var/cabanas.db, serve on :8080
#   make test       install what is missing, build (normal + ASan/UBSan), run unit and integration tests
#   make asan       build build-asan/cabanas with AddressSanitizer + UndefinedBehaviorSanitizer
#   make lint       cppcheck and the banned-function grep
#   make format-check / make format
#   make bench      wrk benchmarks against a local server (see docs/benchmarks.md)
#   make fuzz       fuzz the iCal feed parser for FUZZ_SECONDS (300); make test runs it for 20 s

CC      ?= cc
PKGS    := libmicrohttpd jansson libpq sqlite3 hiredis libsodium libcurl libical
VERSION := $(shell cat VERSION)
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter
WERROR  ?= -Werror
CFLAGS  ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) $(CFLAGS) -Isrc -Ibuild/gen \
             -DCABANAS_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LIBS       = $(PKG_LIBS) -lpthread -lm

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
GEN_SRC  := build/gen/migrations_data.c build/gen/commit.h
MIGRATIONS := $(sort $(wildcard migrations/*/*.sql))
# the admin page, embedded by tools/embed_web.sh; not in GEN_SRC, so editing it rebuilds one object only
WEB_FILES  := $(sort $(wildcard web/admin/*))

OBJ      := $(patsubst %.c,build/obj/%.o,$(SRC)) build/obj/gen/migrations_data.o build/obj/gen/web_assets.o
ASAN_OBJ := $(patsubst %.c,build-asan/obj/%.o,$(SRC)) build-asan/obj/gen/migrations_data.o \
            build-asan/obj/gen/web_assets.o

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,build-asan/tests/%,$(UNIT_SRC))

.PHONY: all run test asan unit lint format format-check bench clean deps test-deps fuzz fuzz-smoke FORCE

all: build/cabanas

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

# The commit id lives in a generated header rewritten only when it changes, so a new commit rebuilds
# exactly the files that show it.
build/gen/commit.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define CABANAS_COMMIT "$(COMMIT)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

FORCE:

build/gen/migrations_data.c: tools/embed_migrations.sh $(MIGRATIONS)
	@mkdir -p $(dir $@)
	tools/embed_migrations.sh > $@.tmp && mv $@.tmp $@

build/gen/web_assets.c: tools/embed_web.sh web/admin $(WEB_FILES)
	@mkdir -p $(dir $@)
	tools/embed_web.sh > $@.tmp && mv $@.tmp $@

build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@echo '  CC   $<'
	@$(CC) $(ALL_CFLAGS) -Isrc -c $< -o $@

build/obj/%.o: %.c $(GEN_SRC)
	@mkdir -p $(dir $@)
	@echo '  CC   $<'
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

build/libcabanas.a: $(OBJ)
	ar rcs $@ $^

build/cabanas: build/obj/src/main.o build/libcabanas.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# --- sanitizer build: same sources, separate tree ---
build-asan/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@echo '  CC   $< (asan)'
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -c $< -o $@

build-asan/obj/%.o: %.c $(GEN_SRC)
	@mkdir -p $(dir $@)
	@echo '  CC   $< (asan)'
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -c $< -o $@

build-asan/libcabanas.a: $(ASAN_OBJ)
	ar rcs $@ $^

build-asan/cabanas: build-asan/obj/src/main.o build-asan/libcabanas.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

asan: build-asan/cabanas

# --- unit tests (cmocka), built with the sanitizers ---
build-asan/tests/%: tests/unit/%.c build-asan/libcabanas.a
	@mkdir -p $(dir $@)
	@echo '  TEST $<'
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 $(shell pkg-config --cflags cmocka) -o $@ $< build-asan/libcabanas.a \
	    $(LIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BIN)

# A driver of store/db_async.c that test_booking.py runs against the suite's PostgreSQL (not a unit test:
# it needs the database)
build-asan/tests/db_async_check: tests/integration/db_async_check.c build-asan/libcabanas.a
	@mkdir -p $(dir $@)
	@echo '  CC   $<'
	@$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -O1 -o $@ $< build-asan/libcabanas.a $(LIBS)

test: test-deps
	$(MAKE) --no-print-directory build/cabanas build-asan/cabanas unit build-asan/tests/db_async_check \
	    build-fuzz/fuzz_ical
	tests/run.sh

# --- fuzzing ical_feed_parse(): libFuzzer with clang, else a corpus replay + mutation driver (gcc) ---
FUZZ_SRC := tests/fuzz/fuzz_ical.c src/ical/ical_parse.c src/core/buf.c src/core/utf8.c src/domain/dates.c
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_FLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Isrc $(shell pkg-config --cflags libical)
FUZZ_LIBS = $(shell pkg-config --libs libical) -lm

build-fuzz/fuzz_ical: $(FUZZ_SRC) tests/fuzz/driver.c src/ical/ical_parse.h src/core/buf.h src/core/utf8.h src/domain/dates.h
	@mkdir -p $(dir $@)
	@if command -v clang >/dev/null 2>&1; then \
	    echo '  FUZZ $@ (libFuzzer)'; \
	    clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ \
	        $(FUZZ_SRC) $(FUZZ_LIBS) && echo libfuzzer > $@.kind; \
	else \
	    echo '  FUZZ $@ (no clang: corpus replay + mutation driver)'; \
	    $(CC) $(FUZZ_FLAGS) $(SAN_FLAGS) -o $@ $(FUZZ_SRC) tests/fuzz/driver.c $(FUZZ_LIBS) && echo driver > $@.kind; \
	fi

fuzz: build-fuzz/fuzz_ical
	tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke: build-fuzz/fuzz_ical
	tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS)

run: deps
	$(MAKE) --no-print-directory build/cabanas
	@mkdir -p var
	./build/cabanas migrate
	./build/cabanas seed
	HOST=$${HOST:-127.0.0.1} ./build/cabanas serve

lint: build/cabanas
	tools/lint.sh

format-check:
	clang-format --dry-run -Werror $(shell find src tests/unit tests/integration -name '*.[ch]')

format:
	clang-format -i $(shell find src tests/unit tests/integration -name '*.[ch]')

bench: deps build/cabanas
	scripts/bench.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
