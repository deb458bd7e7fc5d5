# Hòm thư — build, test, run. Everything builds out of tree into build/$(MODE).
#   make            debug build of the library, tools and tests
#   make test       every test; closes with "N passed, N failed"
#   make MODE=asan test    the same under AddressSanitizer + UBSan
#   make bench      benchmarks (figures as ratios against a same-run baseline)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#   make run        the kiosk on this desk (see README)
# Modes: debug (default), release, asan. CROSS=aarch64-linux-gnu for arm64;
#   make test-arm64   the unit tests cross-built for arm64, run under qemu-user

MODE ?= debug
CROSS ?=
ifeq ($(CROSS),)
CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build/$(MODE)
else
CC := $(CROSS)-gcc
PKG_CONFIG := $(CROSS)-pkg-config
BUILD ?= build/$(CROSS)-$(MODE)
endif
ifeq ($(origin CC),default)
CC := cc
endif

PKGS := libsodium sqlite3 opus libopusenc opusfile ogg sdl2 SDL2_ttf libcurl libmicrohttpd libgpiod gnutls
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# libgpiod 2.x (Debian 13, Raspberry Pi OS trixie) has another API than 1.6
# (Debian 12) and no version macro in its header: ask pkg-config, and
# src/kiosk/gpio_gpiod.c builds the matching side.
ifeq ($(shell $(PKG_CONFIG) --atleast-version=2 libgpiod 2>/dev/null && echo 2),2)
PKG_CFLAGS += -DHOMTHU_GPIOD_V2
endif

# libpq (PostgreSQL), for a province relay's store (src/relay/store_pg.c):
# optional, so that a build without it (the Pi's cross build) still makes
# every program, whose relay then says PostgreSQL is not built in.
# --as-needed: only the programs that use it (the relay) depend on it.
ifeq ($(shell $(PKG_CONFIG) --exists libpq 2>/dev/null && echo 1),1)
PKG_CFLAGS += -DHOMTHU_HAVE_LIBPQ $(shell $(PKG_CONFIG) --cflags libpq)
PKG_LIBS += $(shell $(PKG_CONFIG) --libs libpq)
LDFLAGS += -Wl,--as-needed
endif

# -Wformat-truncation is off: snprintf is how we bound every string, and gcc
# flags each bounded copy differently at each -O level. Paths that must not
# be cut are checked where they are built.
WARN := -Wall -Wextra -Wshadow -Werror -Wno-format-truncation
CFLAGS_COMMON := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP
ifeq ($(MODE),release)
CFLAGS_MODE := -O2 -DNDEBUG
else ifeq ($(MODE),asan)
CFLAGS_MODE := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_MODE := -fsanitize=address,undefined
else
CFLAGS_MODE := -O0 -g
endif
CFLAGS += $(CFLAGS_COMMON) $(CFLAGS_MODE)
LDFLAGS += $(LDFLAGS_MODE)
LDLIBS += $(PKG_LIBS) -lm -lpthread

# src/ has a folder per part: core (shared by every program), kiosk, delivery,
# relay, post. src/kiosk/main.c is the kiosk; src/PART/main_NAME.c is the
# program homthu-NAME. Everything else goes into one library.
KIOSK_MAIN := src/kiosk/main.c
MAIN_SRC := $(wildcard src/*/main_*.c)
LIB_SRC := $(filter-out $(KIOSK_MAIN) $(MAIN_SRC),$(wildcard src/*/*.c))
main_name = $(BUILD)/homthu-$(patsubst main_%.c,%,$(notdir $(1)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# The station's page (assets/station) and the pictogram font, built into
# the library as bytes (tools/embed-files.sh; src/station/files.h).
STATION_PAGE := /=assets/station/index.html /app.js=assets/station/app.js \
	/app.css=assets/station/app.css /i18n/vi.json=assets/station/i18n/vi.json \
	/i18n/en.json=assets/station/i18n/en.json /pictos.ttf=fonts/HomthuPictos.ttf
# (Only those present: tests/t_station_page.sh fails when one is missing.)
STATION_PAGE := $(foreach p,$(STATION_PAGE),$(if $(wildcard $(lastword $(subst =, ,$(p)))),$(p)))
STATION_PAGE_FILES := $(foreach p,$(STATION_PAGE),$(lastword $(subst =, ,$(p))))
LIB_OBJ += $(BUILD)/obj/gen/station_files.o
LIB := $(BUILD)/libhomthu.a

TOOL_SRC := $(wildcard tools/homthu-*.c)
TOOLS := $(TOOL_SRC:tools/%.c=$(BUILD)/%) $(BUILD)/homthu-kiosk \
	$(foreach m,$(MAIN_SRC),$(call main_name,$(m)))

TEST_SRC := $(wildcard tests/test_*.c) tests/check.c
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(BUILD)/homthu-tests

HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPERS := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/helpers/%)
SHIM_SRC := $(wildcard tests/shims/*.c)
SHIMS := $(SHIM_SRC:tests/shims/%.c=$(BUILD)/shims/%.so)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)

BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCHES := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test test-arm64 bench fuzz run screens clean check-banned FORCE
# Keep objects of chained rules (tests, helpers, fuzz replays) between builds.
.SECONDARY:
all: $(LIB) $(TOOLS) $(TEST_BIN) $(HELPERS) $(SHIMS) $(FUZZ_REPLAY) $(BENCHES)

deps:
	@./tools/deps.sh

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

FORCE:

$(BUILD)/gen/station_files.c: tools/embed-files.sh $(STATION_PAGE_FILES)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  EMBED $@")
	$(Q)./tools/embed-files.sh $@ $(STATION_PAGE)

$(BUILD)/obj/gen/station_files.o: $(BUILD)/gen/station_files.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The source lists as a file that changes only when a source is added or
# removed: then the library is made afresh (ar never drops a member) and
# the test binary relinks without a deleted test.
$(BUILD)/sources.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIB_SRC) $(TEST_SRC)' | cmp -s - $@ || echo '$(LIB_SRC) $(TEST_SRC)' > $@

$(LIB): $(LIB_OBJ) $(BUILD)/sources.list
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BUILD)/homthu-kiosk: $(BUILD)/obj/$(KIOSK_MAIN:.c=.o) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The screenshot tool and the tests write PNG (libpng, tools/png_write.h); the kiosk never does.
$(BUILD)/homthu-screens: $(BUILD)/obj/tools/homthu-screens.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(shell $(PKG_CONFIG) --libs libpng) -o $@

define main_rule
$(call main_name,$(1)): $(BUILD)/obj/$(1:.c=.o) $(LIB)
	$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@
endef
$(foreach m,$(MAIN_SRC),$(eval $(call main_rule,$(m))))

$(BUILD)/homthu-%: $(BUILD)/obj/tools/homthu-%.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(TEST_BIN): $(TEST_OBJ) $(LIB) $(BUILD)/sources.list
	$(CC) $(LDFLAGS) $(TEST_OBJ) $(LIB) $(LDLIBS) $(shell $(PKG_CONFIG) --libs libpng) -o $@

$(BUILD)/helpers/%: $(BUILD)/obj/tests/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Preloaded shims are plain (unsanitised) shared objects.
$(BUILD)/shims/%.so: tests/shims/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -fPIC -shared $< -o $@ -ldl

# Fuzz targets replayed over their corpora by `make test` (no clang needed).
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

test: deps
	@$(MAKE) --no-print-directory all
	@HOMTHU_BUILD=$(BUILD) ./tests/run.sh

# The unit tests built for arm64 (the Pi) and run under qemu-user, at most
# 1800 s (tools/run-arm64.sh). Only this target installs the cross toolchain
# and the arm64 libraries (about 1 GB). HOMTHU_FILTER=name runs some.
test-arm64:
	@./tools/deps-arm64.sh
	@$(MAKE) --no-print-directory CROSS=aarch64-linux-gnu MODE=debug all
	@./tools/run-arm64.sh build/aarch64-linux-gnu-debug $(HOMTHU_FILTER)

bench: deps
	@$(MAKE) --no-print-directory MODE=release all
	@HOMTHU_BUILD=build/release ./tests/bench/run.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory $(BUILD)/gen/station_files.c
	@HOMTHU_FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh

# A PNG of every screen, every language, both panel sizes, into build/screens.
screens: deps
	@$(MAKE) --no-print-directory all
	@./tools/demo.sh setup
	@$(BUILD)/homthu-screens --config build/demo/kiosk/kiosk.conf --out build/screens
	@./tools/browser-deps.sh
	@./tools/station-screens.sh $(BUILD) build/screens

# The kiosk in a window on this desk, with demo keys (see README).
run: deps
	@$(MAKE) --no-print-directory all
	@HOMTHU_BUILD=$(BUILD) ./tools/demo.sh run

# The arm64 SD-card image, as root (docs/image.md). Not part of `make test`.
.PHONY: image
image:
	./image/build.sh

# Boots the built image in qemu and takes a tip through it, as root
# (MACHINE=raspi3b for the emulated Pi 3; image/boot-test.sh says what it checks).
.PHONY: boot-test
boot-test:
	./tools/deps-image.sh boot-test
	./image/boot-test.sh

# The post's .deb (docs/station-install.md): build/deb/homthu-post-station_<version>_<arch>.deb
# from a release build of its programs; CROSS=aarch64-linux-gnu makes the Pi's (arm64).
DEB_PROGRAMS ?= homthu-station homthu-post homthu-relay homthu-provision
DEB_BUILD := $(if $(CROSS),build/$(CROSS)-release,build/release)
.PHONY: deb
deb: deps
	$(if $(CROSS),@./tools/deps-arm64.sh)
	@$(MAKE) --no-print-directory MODE=release BUILD=$(DEB_BUILD) $(addprefix $(DEB_BUILD)/,$(DEB_PROGRAMS))
	@PROGRAMS="$(DEB_PROGRAMS)" ./tools/make-deb.sh $(DEB_BUILD) $(if $(CROSS),arm64,$$(dpkg --print-architecture)) build/deb

check-banned:
	@! grep -rnE '\b(sprintf|strcpy|strcat|gets)\s*\(' --include='*.c' --include='*.h' src tools tests

clean:
	rm -rf build

# Every object's header dependencies (tools, helpers, fuzz and bench too).
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
