# Two entry points: `make run` and `make test`. Both set themselves up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint demo check bench clean system-deps

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP) $@

## run: set up and start the daemon on the shipped sources.yaml (SQLite under storage/)
run: $(STAMP)
	$(BIN)/newsbot run

## demo: the offline showcase
demo: $(STAMP)
	$(BIN)/newsbot demo

## check: validate sources.yaml, rules/ and deliveries.yaml
check: $(STAMP)
	$(BIN)/newsbot check

## system-deps: what the test suite needs from Debian: Chromium (email rendering), PostgreSQL, nginx (multi-worker feeds)
SYSTEM_PACKAGES := chromium postgresql nginx-light
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ! [ -x /usr/sbin/nginx ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES); \
	fi

## lint: the layer contract (pyproject.toml [tool.importlinter]), ruff and mypy
lint: $(TEST_STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy

## test: set up, check the house rules, and run the whole suite
test: $(TEST_STAMP) system-deps lint
	$(BIN)/python -m pytest -q

bench: $(TEST_STAMP)
	$(BIN)/python bench/match_bench.py
	$(BIN)/python bench/poll_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
