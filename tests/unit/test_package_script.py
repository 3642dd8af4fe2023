"""scripts/package's trimming rules: what it drops from the zip, and what it must keep."""

from __future__ import annotations

import re
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from types import ModuleType

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def package_script() -> ModuleType:
    loader = SourceFileLoader("package_script", str(ROOT / "scripts" / "package"))
    spec = spec_from_loader("package_script", loader)
    assert spec is not None
    module = module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is created
    sys.modules["package_script"] = module
    loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "dropped"),
    [
        ("app.py", False),
        ("chalicelib/jobs.py", False),
        ("chalicelib/migrations/env.py", False),
        ("chalicelib/migrations/versions/0001_initial_schema.py", False),
        ("chalicelib/api/dev.py", True),
        ("chalicelib/adapters/alipay_simulator.py", True),
        ("chalicelib/__pycache__/jobs.cpython-311.pyc", True),
        ("wrapt/tests/test_wrappers.py", True),
        ("botocore/data/endpoints.json", False),
        ("botocore/data/secretsmanager/2017-10-17/service-2.json.gz", False),
        ("botocore/data/sqs/2012-11-05/service-2.json.gz", False),
        ("botocore/data/ec2/2016-11-15/service-2.json.gz", True),
        ("pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so", False),
    ],
)
def test_what_the_package_drops(package_script: ModuleType, name: str, dropped: bool) -> None:
    assert package_script.dropped(name) is dropped


def test_every_aws_service_the_code_calls_keeps_its_botocore_model(
    package_script: ModuleType,
) -> None:
    # given every boto3/botocore client the shipped code creates
    client_call = re.compile(r"""\b(?:client|create_client)\(\s*["']([a-z0-9-]+)["']""")
    called = {
        service
        for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
        for service in client_call.findall(path.read_text())
    }

    # then the package keeps their service models (a missing one: UnknownServiceError on AWS)
    assert called
    assert called <= package_script.BOTOCORE_SERVICES


def test_local_stage_modules_are_dropped_only_because_aws_stages_never_import_them() -> None:
    # app.py imports chalicelib.api.dev under the local stage only, and nothing else
    # imports dev.py or the simulator outside those two files.
    imports_them = re.compile(r"^\s*(from \S+ )?import .*\b(dev|alipay_simulator)\b", re.M)
    importers = {
        path.relative_to(ROOT).as_posix()
        for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
        if imports_them.search(path.read_text())
    }

    assert importers == {"app.py", "chalicelib/api/dev.py"}
    assert 'if os.environ.get("SHOP_STAGE", "local") == "local":' in (ROOT / "app.py").read_text()
