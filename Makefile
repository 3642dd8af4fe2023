# 家电之选 shop backend. `make run` serves it locally; `make test` checks everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
BENCH_VENV := .venv-bench
export PORT ?= 8000
STAGE ?= dev

.PHONY: install run migrate seed lint format test test-fast test-real test-infra synth cdk-cli \
	bench bench-coldstart bench-packaged package clean

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

test: lint test-fast test-real test-infra

# Infrastructure (infra/, CDK via chalice.cdk), checked offline: no AWS account, no
# credentials. Its own venv: aws-cdk-lib + the app's requirements (chalice package imports
# app.py), ~750 MB (44 s cold here), rebuilt only when infra/requirements.txt or requirements.txt change.
INFRA_VENV := infra/.venv
INFRA_ENV := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=ap-southeast-1 \
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

$(INFRA_VENV)/.installed: infra/requirements.txt requirements.txt
	command -v node >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs; }
	test -x $(INFRA_VENV)/bin/python || python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install -q --disable-pip-version-check -r infra/requirements.txt
	touch $@

# CloudFormation templates for every stage: infra/cdk.out/{dev,prod}.template.json
synth: $(INFRA_VENV)/.installed
	rm -rf infra/cdk.out
	cd infra && $(INFRA_ENV) .venv/bin/python cdk_app.py

# The cdk CLI for deploys (docs/DEPLOY.md), pinned in infra/package-lock.json; not needed
# by synth or the tests.
cdk-cli: infra/node_modules/.installed

infra/node_modules/.installed: infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund
	touch $@

test-infra: synth
	cd infra && $(INFRA_ENV) .venv/bin/pytest tests
	$(INFRA_VENV)/bin/cfn-lint --config-file infra/.cfnlintrc.yaml -- \
		infra/cdk.out/*.template.json infra/cdk.out/migrate-fixture/*.template.json

# The benchmark suite (bench/suite/README.md, ~15 min): MariaDB + Redis at 20k and 1M
# generated users, every endpoint's p50/p95 and statements through the Lambda handler beside
# a hello-world floor, cold start, contention, RSS -> bench/RESULTS.md (## suite) and
# bench/suite.png. Not part of `make test`. The single benches are in bench/README.md.
bench: install $(BENCH_VENV)/.installed
	time scripts/with-test-servers $(PY) -m bench.suite.run --write
	$(BENCH_VENV)/bin/python -m bench.suite.chart

# Bench-only tools (matplotlib, for the chart) in a venv of their own: the dev venv, which
# `make test` and CI install from requirements-dev.txt, never carries them.
$(BENCH_VENV)/.installed: requirements-bench.txt
	test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-bench.txt
	touch $@

# The cold-start benchmark alone (source tree, embedded SQLite).
bench-coldstart: install
	$(PY) -m bench.coldstart.run --write

# The same cold start measured on the built package (needs MariaDB + Redis: started here).
bench-packaged: install
	scripts/with-test-servers $(PY) -m bench.coldstart.packaged --write

# The Lambda deployment package and its template: build/$(STAGE)/{deployment.zip,sam.json}.
package: install
	$(PY) scripts/package --stage $(STAGE)

clean:
	rm -rf var .mypy_cache .ruff_cache infra/cdk.out infra/chalice.out
