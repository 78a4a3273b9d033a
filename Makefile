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

.PHONY: run test install lint audit bench messages vendor clean

$(BIN)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Last Bell needs Python $(PYVER) or newer (pyenv install $(PYVER))."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	@touch $@

install: $(BIN)/.installed

run: install
	@# The demo prints family emails to this terminal unless a mail server is configured.
	EMAIL_BACKEND=$${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend} $(BIN)/lastbell serve

# Browser tests drive Debian's Chromium; install it if this machine lacks it.
/usr/bin/chromium:
	@command -v apt-get >/dev/null || { echo "Install Chromium at /usr/bin/chromium for the browser tests."; exit 1; }
	apt-get update -qq && apt-get install -y -qq chromium >/dev/null

# axe-core for the browser tests' accessibility checks, at the version package-lock.json pins.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "The browser tests need Node.js and npm (for axe-core)."; exit 1; }
	npm ci --no-audit --no-fund --silent
	@touch $@

# Browser libraries the pages load, from npm at the versions package-lock.json pins, copied
# into lastbell/static/vendor/ and committed there, so running Last Bell needs no npm and
# collectstatic finds them like any static file. After changing a version: `make vendor`.
# (lastbell/dismissal/tests/test_vendored.py checks the copies match node_modules.)
vendor: node_modules/.installed
	install -D -m 644 node_modules/jsqr/dist/jsQR.js lastbell/static/vendor/jsqr/jsQR.js
	install -D -m 644 node_modules/jsqr/LICENSE lastbell/static/vendor/jsqr/LICENSE

test: install /usr/bin/chromium node_modules/.installed
	LASTBELL_TESTING=1 $(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check lastbell bench
	$(BIN)/ruff format --check lastbell bench

# Known vulnerabilities in the pinned dependencies, from PyPI's advisory data (pip-audit).
# --strict: a package it could not look up fails the audit instead of passing unseen.
# The security linter is ruff's S rules, in `make lint`.
audit: install
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r requirements.lock

# After changing user-visible text: gather it into lastbell/locale/es/LC_MESSAGES/django.po,
# translate what is new there, then run this again to compile django.mo. Commit both files,
# so installing needs no gettext; lastbell/tests/test_translations.py checks they agree.
messages: install
	@command -v msgfmt >/dev/null || { echo "make messages needs GNU gettext (apt-get install gettext)."; exit 1; }
	cd lastbell && ../$(BIN)/lastbell makemessages --locale es --no-obsolete --no-wrap --add-location file \
		--ignore static --ignore tests --ignore migrations
	cd lastbell && ../$(BIN)/lastbell compilemessages --locale es

bench: install
	$(BIN)/python -m bench.day_board

clean:
	rm -rf $(VENV) var node_modules
