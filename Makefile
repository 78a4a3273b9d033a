# Last Bell: `make run` serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYVER := $(shell cat .python-version)
# The pinned Python from pyenv, else a python3.12+ on the PATH.
PYTHON := $(shell for p in "$$(pyenv root 2>/dev/null)/versions/$(PYVER)/bin/python" \
	"$$HOME/.pyenv/versions/$(PYVER)/bin/python" "$$(command -v python3.13)" \
	"$$(command -v python3.12)" "$$(command -v python3)"; do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& echo "$$p" && break; done)

.PHONY: run test install lint bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Last Bell needs Python $(PYVER) or newer (pyenv install $(PYVER))."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/lastbell serve

# Browser tests drive Debian's Chromium; install it if this machine lacks it.
/usr/bin/chromium:
	@command -v apt-get >/dev/null || { echo "Install Chromium at /usr/bin/chromium for the browser tests."; exit 1; }
	apt-get update -qq && apt-get install -y -qq chromium >/dev/null

test: install /usr/bin/chromium
	LASTBELL_TESTING=1 $(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check lastbell bench
	$(BIN)/ruff format --check lastbell bench

bench: install
	$(BIN)/python -m bench.day_board

clean:
	rm -rf $(VENV) var
