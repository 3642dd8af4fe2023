"""The templates after the SAM transform, which CloudFormation runs at deploy time.

chalice.cdk emits AWS::Serverless::* resources; what API Gateway and Lambda finally get
is decided by the transform. aws-sam-translator runs it here, offline.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from shop_infra.settings import STAGES

NOT_FOUND = {
    "statusCode": "404",
    "responseParameters": {},
    "responseTemplates": {"application/json": '{"detail": "Not found.", "code": "not_found"}'},
}


class NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; the templates name none by name."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(template: dict, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    parameters = {"AWS::Region": "ap-southeast-1", "AWS::AccountId": "123456789012"}
    result = transform(copy.deepcopy(template), parameters, NoManagedPolicies())
    return json.loads(json.dumps(result))["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def test_the_deployed_api_has_tracing_and_the_404_response(
    stage_template: tuple[str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    stage, t = stage_template

    resources = transformed(t, monkeypatch)

    (rest_api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    (api_stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    (deployment,) = of_type(resources, "AWS::ApiGateway::Deployment").values()
    assert rest_api["Properties"]["Name"] == f"jiadian-shop-{stage}-api"
    assert rest_api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"] == {
        "MISSING_AUTHENTICATION_TOKEN": NOT_FOUND
    }
    assert api_stage["Properties"]["StageName"] == "api"
    assert api_stage["Properties"]["TracingEnabled"] is True
    assert deployment["Properties"]["RestApiId"] == {"Ref": "RestAPI"}


def test_every_deployed_function_is_traced_in_the_vpc(
    stage_template: tuple[str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, t = stage_template

    functions = of_type(transformed(t, monkeypatch), "AWS::Lambda::Function")

    assert "APIHandler" in functions
    for name, fn in functions.items():
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}, name
        assert len(fn["Properties"]["VpcConfig"]["SubnetIds"]) == 2, name


def test_new_code_and_the_api_wait_for_the_migrations(
    migrate_stack: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = transformed(migrate_stack, monkeypatch)

    functions = of_type(resources, "AWS::Lambda::Function")
    (rest_api_id,) = of_type(resources, "AWS::ApiGateway::RestApi")

    assert "MigrateOnDeploy" not in functions["Migrate"].get("DependsOn", [])
    for name in ("APIHandler", "ExpireOrders"):
        assert "MigrateOnDeploy" in functions[name]["DependsOn"], name
    # the stage's deployment references the API, which waits for the migrations
    assert "MigrateOnDeploy" in resources[rest_api_id]["DependsOn"]


def test_api_gateway_invokes_the_provisioned_alias(
    stage_template: tuple[str, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    stage, t = stage_template
    provisioned = STAGES[stage].api_provisioned_concurrency

    resources = transformed(t, monkeypatch)

    aliases = of_type(resources, "AWS::Lambda::Alias")
    (rest_api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    uris = [
        json.dumps(operation["x-amazon-apigateway-integration"]["uri"])
        for item in rest_api["Properties"]["Body"]["paths"].values()
        for operation in item.values()
        if "x-amazon-apigateway-integration" in operation
    ]
    permission = resources["APIHandlerInvokePermission"]["Properties"]
    if not provisioned:
        assert aliases == {}
        assert all("${APIHandler.Arn}" in uri for uri in uris)
        assert permission["FunctionName"] == {"Ref": "APIHandler"}
        return
    (version_id,) = of_type(resources, "AWS::Lambda::Version")
    alias = aliases["APIHandlerAliaslive"]["Properties"]
    assert alias["FunctionName"] == {"Ref": "APIHandler"}
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": provisioned}
    assert uris and all('{"Ref": "APIHandlerAliaslive"}' in uri for uri in uris)
    assert permission["FunctionName"] == {"Ref": "APIHandlerAliaslive"}
