# The two commands the README promises: `make run` and `make test`. Each does its own setup.

# Build cache outside the clone, reused between runs when present (never required).
CARGO_TARGET_DIR ?= /var/tmp/marquee-target
export CARGO_TARGET_DIR
ORT_DYLIB_PATH ?= $(CURDIR)/.tools/onnxruntime/libonnxruntime.so.1.31.1
export ORT_DYLIB_PATH

.PHONY: run test lint setup schema bench postgres

setup:
	@bash scripts/setup-onnxruntime.sh >/dev/null
	@bash scripts/setup-text-model.sh >/dev/null

## Start the service on embedded SQLite with a demo tenant; prints URL, key and a curl line.
run: setup
	cargo build --workspace --bins
	$(CARGO_TARGET_DIR)/debug/marquee serve --demo

## Run the whole test suite, against SQLite and PostgreSQL.
test: setup postgres
	bash scripts/check-dataset.sh
	cargo test --workspace --no-fail-fast

## The house rules CI checks before the tests: formatting, clippy -D warnings on all targets,
## unused dependencies (cargo-machete) and breaking schema changes announced in CHANGELOG.md.
lint:
	bash scripts/lint.sh

postgres:
	@bash scripts/ensure-postgres.sh

## Regenerate the checked-in GraphQL schema after an API change.
schema:
	cargo run -q -p api --bin marquee -- export-schema -o schema.graphql
