# Missiva: `make run` builds and starts the app, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
ARTIFACTS := $(CURDIR)/artifacts

.PHONY: deps ui ui-mock app run relay test lint fmt check-bindings test-rust test-keychain test-fuzz fuzz test-ui test-e2e test-app test-package package bench clean

deps:
	@scripts/deps.sh

ui: deps
	npm --prefix ui run --silent build

ui-mock: deps
	npm --prefix ui run --silent build:mock

app: ui
	$(CARGO) build -p missiva -p missiva-relay -p missiva-cli

# Build, start a local relay on 127.0.0.1:7400 (reused if one answers there), then the app
# configured for it (the OS keychain when one answers, else the file keystore).
run: app
	scripts/run-relay.sh "$(TARGET_DIR)/debug/missiva-relay" scripts/run.sh "$(TARGET_DIR)/debug/missiva"

# A relay alone, in the foreground: `make relay RELAY_LISTEN=0.0.0.0:7400 RELAY_DB=relay.db`.
relay:
	$(CARGO) run --release -p missiva-relay -- --listen $(or $(RELAY_LISTEN),127.0.0.1:7400) \
	  --db $(or $(RELAY_DB),$(ARTIFACTS)/relay.db)

fmt:
	$(CARGO) fmt --all

lint: ui
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	npm --prefix ui run --silent check

test-rust: ui
	$(CARGO) test --workspace

# The TypeScript types are generated from the Rust types by `cargo test`; stale ones fail.
check-bindings: test-rust
	@if [ -n "$$(git status --porcelain -- ui/src/lib/bindings)" ]; then \
	  git status --short -- ui/src/lib/bindings; git diff --stat -- ui/src/lib/bindings; \
	  echo "ui/src/lib/bindings is stale: run 'cargo test' and commit the result" >&2; exit 1; fi

# The OS keychain keystore against a real gnome-keyring on a private session bus.
test-keychain: deps
	timeout 300 dbus-run-session -- scripts/with-keyring.sh \
	  $(CARGO) test -p missiva-core --test os_keychain -- --ignored

# Every decoder of missiva-crypto, the relay's frame handling and the WhatsApp importer (text and
# archives) under libFuzzer: a short run in `make test`, longer with
# `make fuzz` (FUZZ_SECONDS per target, default 60).
test-fuzz: deps
	scripts/fuzz.sh 10
	FUZZ_CRATE=relay scripts/fuzz.sh 10
	FUZZ_CRATE=core scripts/fuzz.sh 10

fuzz: deps
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)
	FUZZ_CRATE=relay scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)
	FUZZ_CRATE=core scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

test-ui: deps
	npm --prefix ui run --silent test

test-e2e: ui-mock
	mkdir -p $(ARTIFACTS)
	timeout 300 npm --prefix ui run --silent e2e

# The real app window through tauri-driver + WebKitWebDriver under Xvfb and a private D-Bus.
test-app: app
	mkdir -p $(ARTIFACTS)
	MISSIVA_APP_BIN="$(TARGET_DIR)/debug/missiva" ARTIFACTS="$(ARTIFACTS)" \
	  timeout 600 dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" \
	  $(CARGO) test -p missiva-tests -- --ignored --test-threads=1
	timeout 120 dbus-run-session -- $(CARGO) test -p missiva --lib -- --ignored notifications

# The .deb installs, has a valid menu entry and starts a window.
test-package: app
	ui/node_modules/.bin/tauri build --debug --bundles deb --ci
	timeout 300 xvfb-run -a -s "-screen 0 1280x800x24" \
	  scripts/check-deb.sh "$$(ls -t $(TARGET_DIR)/debug/bundle/deb/*.deb | head -n1)"

test: deps lint test-rust check-bindings test-keychain test-fuzz test-ui test-e2e test-app test-package
	@echo "make test: all passed"

package: ui
	ui/node_modules/.bin/tauri build --bundles deb --ci
	@ls -1 $(TARGET_DIR)/release/bundle/deb/*.deb

bench:
	$(CARGO) bench -p missiva-core --bench accounts
	$(CARGO) bench -p missiva-core --bench whatsapp_import
	$(CARGO) bench -p missiva-crypto --bench ratchet
	$(CARGO) bench -p missiva-crypto --bench sender_keys
	$(CARGO) bench -p missiva-crypto --bench attachment
	$(CARGO) bench -p missiva-relay --bench relay_load
	$(CARGO) build --release -p missiva-relay
	MISSIVA_RELAY_BIN="$(TARGET_DIR)/release/missiva-relay" $(CARGO) bench -p missiva-tests --bench send_to_display
	MISSIVA_RELAY_BIN="$(TARGET_DIR)/release/missiva-relay" $(CARGO) bench -p missiva-tests --bench group_send
	@echo "Reference in the same run: Debian's openssl speed -evp aes-256-gcm, 64 KiB blocks (bytes/s x1000):"
	@openssl speed -evp aes-256-gcm -seconds 3 -bytes 65536 2>/dev/null | tail -n 1

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/dist-mock $(ARTIFACTS)
