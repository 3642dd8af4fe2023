# 家电之选 shop backend. `make run` serves it locally; `make test` checks everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
export PORT ?= 8000
STAGE ?= dev

.PHONY: install run migrate seed lint format test test-fast test-real bench bench-packaged package clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: install
	$(PY) manage.py migrate
	$(PY) manage.py seed-demo
	exec $(PY) manage.py run --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The embedded pass: SQLite, in-process Redis, folders.
test-fast: install
	$(PYTEST)

# The same suite on real MariaDB and Redis servers started for this run only; it includes
# the smoke test of the built package (tests/integration/test_package_artifact.py).
test-real: install
	scripts/with-test-servers $(PYTEST)

test: lint test-fast test-real

# The cold-start benchmark; the database benchmarks are listed in bench/README.md.
bench: install
	$(PY) -m bench.coldstart.run --write

# The same cold start measured on the built package (needs MariaDB + Redis: started here).
bench-packaged: install
	scripts/with-test-servers $(PY) -m bench.coldstart.packaged --write

# The Lambda deployment package and its template: build/$(STAGE)/{deployment.zip,sam.json}.
package: install
	$(PY) scripts/package --stage $(STAGE)

clean:
	rm -rf var .mypy_cache .ruff_cache
