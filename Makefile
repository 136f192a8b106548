# Memnun: `make run` serves the app with demo data, `make test` runs ruff and the test suite.
# GNU make. Works from a clean clone: the virtual environment and instance/ are created here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
MEMNUN := $(BIN)/memnun
HOST ?= 127.0.0.1
PORT ?= 5000
ADMIN_EMAIL ?= admin@example.org
ADMIN_PASSWORD_FILE := instance/admin-password

# Some machines (CI's among them) set PYTHONDONTWRITEBYTECODE: then every process compiles every
# module it imports, about 12 s of CPU for the app alone, paid again by each xdist worker,
# gunicorn worker, scheduler and CLI the tests start. Bytecode is written under the project.
unexport PYTHONDONTWRITEBYTECODE

# Survey e-mails land as .eml files on the admin outbox page: no mail server needed.
export MEMNUN_MAIL_BACKEND ?= file
# Links in the e-mails must point at this server, whatever port it runs on.
export MEMNUN_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: help install translations run admin browser-deps test lint clean distclean

help:
	@echo "make run        create .venv, install, migrate, load the demo, serve http://$(HOST):$(PORT)/"
	@echo "make test       create .venv, install the dev extras, run ruff, the import contracts and pytest"
	@echo "make install    create .venv with the dev extras (make run installs only what serving needs)"
	@echo "make lint       ruff and the import contracts"
	@echo "make clean      remove caches and build files (keeps .venv and instance/)"
	@echo "make distclean  clean, and remove .venv too (instance/ with your data is kept)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changed since the last install. Two stamps: `make run` needs
# only what the app imports; `make test` adds the dev extras (pytest, playwright, schemathesis...),
# which would more than double a fresh machine's wait for the login page.
# uv installs the same versions from PyPI as pip would, downloading in parallel: on a fresh machine
# the runtime packages take about 6 s instead of about 100. pip is the fallback when uv cannot be
# had (no PyPI, an unsupported platform).
PIP_INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check
INSTALL = { $(PIP_INSTALL) uv && $(BIN)/uv pip install --quiet --python $(BIN)/python $(1); } \
	|| { echo "uv unavailable: installing with pip" >&2; $(PIP_INSTALL) $(1); }

$(STAMP): pyproject.toml | $(BIN)/python
	$(call INSTALL,-e .)
	touch $@

$(DEV_STAMP): $(STAMP)
	$(call INSTALL,-e '.[dev]')
	touch $@

install: $(DEV_STAMP)

# Compile the message catalogues when there are any (*.mo files are not kept in git).
translations: $(STAMP)
	@if find app/translations -name '*.po' 2>/dev/null | grep -q .; then \
		$(BIN)/pybabel -q compile -d app/translations; \
	fi

run: translations
	$(MEMNUN) db upgrade
	$(MEMNUN) templates install
	$(MEMNUN) demo --if-empty
	@$(MAKE) --no-print-directory admin
	$(MEMNUN) run --host $(HOST) --port $(PORT)

# An admin account for the demo. Its password is generated once and kept (readable only by you)
# in instance/admin-password, so that every `make run` can print it again.
admin: $(STAMP)
	@mkdir -p instance
	@if [ ! -s $(ADMIN_PASSWORD_FILE) ]; then \
		(umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))' \
			> $(ADMIN_PASSWORD_FILE)); \
	fi
	@password="$$(cat $(ADMIN_PASSWORD_FILE))"; note=""; \
	if output="$$($(MEMNUN) user create --email $(ADMIN_EMAIL) --role admin \
			--password "$$password" 2>&1)"; then \
		echo "$$output"; \
	elif grep -q "already exists" <<< "$$output"; then \
		note="  (if you changed this account's password since, use yours)"; \
	else \
		echo "$$output" >&2; exit 1; \
	fi; \
	echo; \
	echo "================================================================================"; \
	echo "  Memnun: http://$(HOST):$(PORT)/"; \
	echo "  Log in at http://$(HOST):$(PORT)/auth/login"; \
	echo "    e-mail:   $(ADMIN_EMAIL)"; \
	echo "    password: $$password$$note"; \
	echo "  Survey e-mails: http://$(HOST):$(PORT)/admin/outbox  (mail backend: $(MEMNUN_MAIL_BACKEND))"; \
	echo "  Dashboards:     http://$(HOST):$(PORT)/dashboards/"; \
	echo "  Stop with Ctrl+C."; \
	echo "================================================================================"; \
	echo

# axe-core for the accessibility tests comes from npm, pinned by tests/browser/package-lock.json.
browser-deps:
	@if command -v npm >/dev/null; then bash tests/browser/install.sh; \
	else echo "npm not found: the accessibility tests will skip (they fail under CI=true)"; fi

# Two processes (pytest-xdist), each with its own PostgreSQL database; the process-level
# reliability tests keep to one of them (xdist_group "processes"). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2

test: translations browser-deps $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
		-name __pycache__ -type d -exec rm -rf {} +
	find app/translations -name '*.mo' -delete 2>/dev/null || true

distclean: clean
	rm -rf $(VENV)
