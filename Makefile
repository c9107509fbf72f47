# The two commands: `make run` and `make test`. Each sets up whatever is
# missing first (system packages, a virtualenv, the private Asterisk).
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := debootstrap sip-tester espeak-ng sox chromium fonts-wqy-microhei openssl
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test setup system node asterisk lint bench clean

run: setup
	$(BIN)/callcenter run --demo --config config

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: system $(STAMP) $(NODE_STAMP) asterisk

system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "missing system packages: $$missing"; echo "install them: sudo apt-get install $$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

# The browser libraries the consoles serve (ECharts): from npm, never committed.
node:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; \
	  else \
	    echo "missing npm; install it: sudo apt-get install nodejs npm"; exit 1; \
	  fi; }

$(NODE_STAMP): package.json package-lock.json | node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

asterisk:
	$(PY) asterisk/local_asterisk.py install >/dev/null

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/acd.py

clean:
	rm -rf $(VENV) var test-artifacts node_modules
