"""Templates for the infra tests.

`stage_templates`: what `make synth` wrote to infra/cdk.out (the real app, dev and prod).
`migrate_stack`: the dev stack synthesized here around tests/fixtures/migrate_app, a
stand-in with a `migrate` function, on MariaDB, with an alarm e-mail. Written to
infra/cdk.out/migrate-fixture/ so that `make test-infra` cfn-lints it too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

INFRA = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(INFRA))

FIXTURE_APP = Path(__file__).resolve().parent / "fixtures" / "migrate_app"


@pytest.fixture(scope="session", params=["dev", "prod"])
def stage_template(request: pytest.FixtureRequest) -> tuple[str, dict]:
    path = INFRA / "cdk.out" / f"{request.param}.template.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make synth` first")
    return request.param, json.loads(path.read_text())


@pytest.fixture(scope="session")
def template(stage_template: tuple[str, dict]) -> Template:
    return Template.from_json(stage_template[1])


@pytest.fixture(scope="session")
def migrate_stack() -> dict:
    from cdk_app import build_app

    outdir = INFRA / "cdk.out" / "migrate-fixture"
    app = build_app(
        source_dir=FIXTURE_APP,
        stages=("dev",),
        outdir=outdir,
        context={"db_engine": "mariadb10.11", "alarm_email": "ops@example.com"},
    )
    app.synth()
    return json.loads((outdir / "dev.template.json").read_text())
