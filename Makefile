# pytables — the two commands a newcomer needs: `make demo` and `make test`.
# Everything that touches netfilter runs in network namespaces it creates and removes.

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
APT_PACKAGES := iptables iproute2 ipset
PY_TOOLS := maturin pytest ruff

.PHONY: dev system-deps venv anchor build lint test test-rust test-python demo bench clean

dev: system-deps venv build

# Installs the system packages with apt when any is missing (idempotent).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.tools-installed anchor

# python-iptables, the library pytables stands in for: tests/python/test_differential.py runs the
# same programs with both and compares what they see; bench/python.sh times it.
anchor:
	@test -x bench/.venv-anchor/bin/python || (python3 -m venv bench/.venv-anchor && bench/.venv-anchor/bin/pip install -q python-iptables==1.2.0)

$(VENV)/.tools-installed:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(PY_TOOLS)
	touch $@

# Release binaries (pytables-server, pytables) and the Python package installed into .venv.
build: venv
	cargo build --release --bins
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/maturin develop --release -q

lint: venv
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -q --workspace
	$(VENV)/bin/ruff check python tests bench demo

test: dev lint test-rust test-python

# Rust tests cover both backends themselves (PYTABLES_BACKEND narrows them to one).
test-rust:
	cargo test --workspace --release --no-fail-fast

test-python:
	@if ls tests/python/test_*.py >/dev/null 2>&1; then \
	  for b in legacy nft; do \
	    echo "== pytest, backend $$b"; \
	    PYTABLES_BACKEND=$$b $(VENV)/bin/pytest -q tests/python || exit 1; \
	  done; \
	else echo "no Python tests yet"; fi

demo: dev
	bash demo/run.sh

bench: dev
	bash bench/run.sh

clean:
	cargo clean
	rm -rf $(VENV)
