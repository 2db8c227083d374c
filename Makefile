# The two commands the README promises: `make run` and `make test`. Each does its own setup.

# Build cache outside the clone, reused between runs when present (never required).
CARGO_TARGET_DIR ?= /var/tmp/marquee-target
export CARGO_TARGET_DIR
ORT_DYLIB_PATH ?= $(CURDIR)/.tools/onnxruntime/libonnxruntime.so.1.31.1
export ORT_DYLIB_PATH

.PHONY: run test lint setup schema bench postgres redis haproxy moto console browser-test examples

setup:
	@bash scripts/setup-onnxruntime.sh >/dev/null
	@bash scripts/setup-text-model.sh >/dev/null

## Start the service on embedded SQLite with a demo tenant (generated data, a deployed
## model within a minute); prints the console URL, the login, a key and a curl line.
run: setup console
	cargo build --workspace --bins
	$(CARGO_TARGET_DIR)/debug/marquee serve --demo

## Build the web console into frontend/dist (npm ci, GraphQL codegen, typecheck, bundle).
console:
	@bash scripts/build-console.sh

## Run the whole test suite, against SQLite and PostgreSQL, then the console's browser
## tests against a real demo server.
test: setup postgres redis haproxy moto
	bash scripts/check-dataset.sh
	cargo test --workspace --no-fail-fast
	$(MAKE) browser-test
	$(MAKE) examples

## The console in headless Chromium against `serve --demo` (screenshots in frontend/test-results).
browser-test: setup
	bash scripts/browser-tests.sh

## The clients for partner studios (examples/python, examples/typescript) against a fresh
## server: each pushes data, trains and must print explained recommendations.
examples: setup
	bash scripts/examples.sh

## The house rules CI checks before the tests: formatting, clippy -D warnings on all targets,
## unused dependencies (cargo-machete) and breaking schema changes announced in CHANGELOG.md.
lint:
	bash scripts/lint.sh

postgres:
	@bash scripts/ensure-postgres.sh

redis:
	@bash scripts/ensure-redis.sh

## The load balancer of the two-replica test (Debian's haproxy, installed when missing).
haproxy:
	@bash scripts/ensure-haproxy.sh

## The S3-compatible server of the model store tests (moto from PyPI, hash-pinned).
moto:
	@bash scripts/setup-moto.sh >/dev/null

## Regenerate the checked-in GraphQL schema after an API change.
schema:
	cargo run -q -p api --bin marquee -- export-schema -o schema.graphql
