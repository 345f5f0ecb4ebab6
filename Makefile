# One gate: `make check` is what CI runs and what you run before you stop.
PYTHON ?= python3

.PHONY: check install lint test test-rust test-python stubtest fmt bench-quick

check: install lint test

# Builds the extension (release) and installs it editable with the test tools,
# and nats-server from Debian for the NATS tests (skipped, with the reason, if
# it cannot be installed; .ci/run makes that a failure).
install:
	$(PYTHON) -m pip install -q -e '.[test]'
	@command -v nats-server >/dev/null || test -x /usr/sbin/nats-server || \
	  { apt-get install -y -qq nats-server >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq nats-server >/dev/null 2>&1; } || \
	    echo "make install: nats-server could not be installed; tests/nats will be skipped"; }

lint:
	cargo fmt --check
	cargo clippy --all-targets -q -- -D warnings
	cargo clippy --all-targets --features python -q -- -D warnings
	$(PYTHON) -m ruff check python tests benches
	$(PYTHON) -m mypy python/fastbridge

test: test-rust stubtest test-python

test-rust:
	cargo test -q

stubtest:
	$(PYTHON) -m mypy.stubtest fastbridge._core

test-python:
	$(PYTHON) -m pytest -q

fmt:
	cargo fmt
	$(PYTHON) -m ruff check --fix python tests benches

# The benchmark suite against its peers (needs the bench extra; see benches/README.md).
bench-quick:
	$(PYTHON) -m pip install -q -e '.[bench]'
	fastbridge bench --quick
