"""Every Lambda function the deployment declares has a handler Lambda can find.

The handler strings come from chalice's own application graph (what `chalice package`
writes into the template), built in a child process on the prod stage's environment.
Each one is then resolved as Lambda resolves it: a fresh interpreter imports the module
and looks the attribute up. chalice.test's `lambda_.invoke` calls the registered
function object directly, so it cannot notice a handler string naming an attribute the
module does not have (closures registered in a loop: Runtime.HandlerNotFound on AWS).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DESCRIBE = r"""
import json, sys
from app import app
from chalice.config import Config
from chalice.deploy import models
from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder

stage = sys.argv[1]
config = Config.create(
    chalice_stage=stage, app_name=app.app_name, project_dir=".", chalice_app=app,
    config_from_disk=json.load(open(".chalice/config.json")),
)
graph = ApplicationGraphBuilder().build(config, stage)
print(json.dumps({
    r.resource_name: r.handler
    for r in DependencyBuilder().build_dependencies(graph)
    if isinstance(r, models.LambdaFunction)
}))
"""

# Lambda's bootstrap: import the module, getattr the name, call it with (event, context).
RESOLVE = r"""
import importlib, inspect, json, sys
sys.path.insert(0, sys.argv[2])
module_name, _, attribute = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute, None)
takes_event_and_context = False
if callable(handler):
    try:
        inspect.signature(handler).bind({}, object())
        takes_event_and_context = True
    except TypeError:
        pass
print(json.dumps({"found": handler is not None, "callable": callable(handler),
                  "takes_event_and_context": takes_event_and_context}))
"""


# The app as `chalice package --stage S` loads it: CLIFactory imports app.py with stage S's
# environment_variables put into os.environ first.
SQS_SOURCES = r"""
import json, os, sys
from chalice.app import SQSEventConfig
from chalice.cli.factory import CLIFactory

factory = CLIFactory(project_dir=".", environ=os.environ)  # as chalice's CLI builds it
app = factory.create_config_obj(chalice_stage_name=sys.argv[1]).chalice_app
print(json.dumps([
    [s.name, s.queue, s.batch_size, s.maximum_concurrency]
    for s in app.event_sources if isinstance(s, SQSEventConfig)
]))
"""


def stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {**os.environ, **config["stages"][stage].get("environment_variables", {})}


def deployed_handlers(stage: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", DESCRIBE, stage],
        cwd=ROOT,
        env=stage_environment(stage),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def resolve(handler: str, stage: str) -> dict[str, bool]:
    # -I: no current directory, user site or PYTHON* variables on sys.path; the project
    # folder is added explicitly, as /var/task is on Lambda.
    result = subprocess.run(
        [sys.executable, "-I", "-c", RESOLVE, handler, str(ROOT)],
        cwd="/",
        env=stage_environment(stage),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{handler}: {result.stderr}"
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def prod_handlers() -> dict[str, str]:
    return deployed_handlers("prod")


def test_the_deployment_declares_the_api_the_jobs_the_mail_worker_and_migrate(
    prod_handlers: dict[str, str],
) -> None:
    assert prod_handlers == {
        "api_handler": "app.app",
        "migrate": "chalicelib.jobs.migrate",
        "job_rollup_stats": "chalicelib.jobs.job_rollup_stats",
        "job_expire_orders": "chalicelib.jobs.job_expire_orders",
        "job_reconcile_payments": "chalicelib.jobs.job_reconcile_payments",
        "job_retry_file_deletions": "chalicelib.jobs.job_retry_file_deletions",
        "mail_worker": "chalicelib.jobs.mail_worker",
    }


def test_every_handler_string_resolves_in_a_fresh_interpreter(
    prod_handlers: dict[str, str],
) -> None:
    # given the handler strings of every Lambda function of the prod stage
    # when each is resolved the way Lambda's bootstrap does
    resolved = {name: resolve(handler, "prod") for name, handler in prod_handlers.items()}

    # then each names a callable that takes (event, context)
    ok = {"found": True, "callable": True, "takes_event_and_context": True}
    assert resolved == dict.fromkeys(prod_handlers, ok)


def test_every_scheduled_job_can_be_run_by_name() -> None:
    from chalice.app import ScheduledEventConfig

    from app import app
    from chalicelib.jobs import JOBS

    scheduled = {
        source.handler_string
        for source in app.event_sources
        if isinstance(source, ScheduledEventConfig)
    }

    assert {f"chalicelib.jobs.{handler.func.__name__}" for handler in JOBS.values()} == scheduled


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_mail_worker_reads_its_own_stages_queue_as_chalice_package_sees_it(
    stage: str,
) -> None:
    # given no SHOP_STAGE in the environment the packager runs in
    env = {k: v for k, v in os.environ.items() if k != "SHOP_STAGE"}

    # when chalice's CLI loads the app for the stage, as `chalice package --stage` does
    result = subprocess.run(
        [sys.executable, "-c", SQS_SOURCES, stage],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    # then the worker reads the queue the stage's IAM policy grants, one record at a time
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        ["mail_worker", f"jiadian-shop-{stage}-mail", 1, 2]
    ]
