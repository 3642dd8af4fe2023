"""The Chalice app itself (chalice.cdk), its IAM role, logs, tracing and the migrate trigger."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from aws_cdk import (
    Acknowledgment,
    CfnOutput,
    CfnResource,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice
from constructs import Construct

from shop_infra.data import DATABASE_NAME, Data
from shop_infra.network import MYSQL_PORT, REDIS_PORT, Network
from shop_infra.settings import Options, StageSize, budget, provisioned_concurrency

API_FUNCTION = "APIHandler"  # chalice's logical id of the API Gateway handler
API_RESOURCE = "RestAPI"
API_PERMISSION = "APIHandlerInvokePermission"  # chalice's: API Gateway may invoke the handler
# With provisioned concurrency, the alias API Gateway invokes (SAM's AutoPublishAlias)
API_ALIAS = "live"
MIGRATE_FUNCTION = "Migrate"  # @bp.lambda_function(name="migrate") in chalicelib/jobs.py
API_STAGE = "api"  # api_gateway_stage in .chalice/config.json
NOTIFY_PATH = "/payments/alipay/notify/"  # chalicelib.services.payments.NOTIFY_PATH
NOT_FOUND_BODY = '{"detail": "Not found.", "code": "not_found"}'
# RDS Proxy requires TLS and its certificate (ACM's) chains to Amazon Trust Services'
# roots: the package ships those five (chalicelib/certs/), which pymysql loads in ~1 ms,
# where the runtime's whole bundle (/etc/pki/tls/certs/ca-bundle.crt) took ~17 ms of each
# new connection. /var/task is where Lambda unpacks the package.
CA_BUNDLE = "/var/task/chalicelib/certs/amazon-root-cas.pem"
MIGRATE_TIMEOUT_SECONDS = 600


@dataclass
class ShopApp:
    chalice: Chalice
    functions: dict[str, CfnResource]  # logical id -> AWS::Serverless::Function
    log_groups: dict[str, logs.LogGroup]
    migrate_trigger: CustomResource | None


def _package_script() -> ModuleType:
    """scripts/package, the project's build of the Lambda package (a script, not a module)."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "package"
    loader = importlib.machinery.SourceFileLoader("shop_package_script", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


class ProjectPackagedChalice(Chalice):
    """chalice.cdk's construct, shipping the artifact `make package` builds and the tests
    run (tests/integration/test_package_artifact.py), not chalice's plain zip: the same
    wheelhouse (offline after the first build), the same trimming and the unchecked-hash
    bytecode that takes a cold start's import from ~630 to ~225 ms (bench/RESULTS.md).
    The template stays chalice's own, written for this stack's stage config."""

    def _package_app(self) -> None:
        package = _package_script()
        package.wheelhouse()
        offline = {
            "PIP_FIND_LINKS": str(package.WHEELHOUSE),
            "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        saved = {name: os.environ.get(name) for name in offline}
        os.environ.update(offline)
        try:
            super()._package_app()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        package.post_process(Path(self._sam_package_dir) / "deployment.zip")


def environment(stage: str, data: Data, options: Options) -> dict[str, str]:
    """The Lambdas' environment: plain settings, and secrets only as secretsmanager: refs."""

    def ref(secret_arn: str, key: str | None = None) -> str:
        return f"secretsmanager:{secret_arn}" + (f"#{key}" if key else "")

    return {
        "SHOP_STAGE": stage,
        # No credentials in the URL: config.settings() merges DATABASE_SECRET's
        # username/password in at use (chalicelib/config.py).
        "DATABASE_URL": (
            f"mysql+pymysql://{data.proxy.endpoint}:{MYSQL_PORT}/{DATABASE_NAME}"
            f"?charset=utf8mb4&ssl_ca={CA_BUNDLE}"
        ),
        "DATABASE_SECRET": ref(data.db_secret.secret_arn),
        # The proxy's init query and the parameter group set the session (data.py): the
        # app must not, or every Lambda's connection is pinned (chalicelib/db/engine.py).
        "DATABASE_BEHIND_PROXY": "true",
        "REDIS_URL": f"rediss://{data.redis.attr_primary_end_point_address}:{REDIS_PORT}/0",
        "REDIS_AUTH_SECRET": ref(data.redis_secret.secret_arn, "token"),
        "JWT_SECRET": ref(data.jwt_secret.secret_arn, "secret"),
        "ALIPAY_APP_PRIVATE_KEY": ref(data.alipay_secret.secret_arn, "app_private_key"),
        "ALIPAY_PUBLIC_KEY": ref(data.alipay_secret.secret_arn, "alipay_public_key"),
        "ALIPAY_APP_ID": options.alipay_app_id,
        "ALIPAY_GATEWAY": options.alipay_gateway,
        "STORAGE_URL": "fastdfs://" + ",".join(options.fastdfs_trackers),
        "MEDIA_URL": options.media_url,
        "MAIL_URL": f"sqs://{data.mail_queue.queue_url}",
        "MAIL_FROM": options.mail_from,
        "API_BASE_URL": options.api_base_url,
        "FRONTEND_URL": options.frontend_url,
        "CORS_ALLOWED_ORIGINS": options.cors_allowed_origins,
        # argon2id's 19 MiB buffers stay in glibc's per-thread arenas otherwise
        # (docs/ARCHITECTURE.md, "Outside systems as measured")
        "MALLOC_ARENA_MAX": "2",
    }


def lambda_role(scope: Construct, data: Data) -> iam.Role:
    """One role for every function of the app (`autogen_policy` is off in .chalice/config.json)."""
    role = iam.Role(
        scope,
        "LambdaRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaVPCAccessExecutionRole"  # ENIs + CloudWatch Logs
            ),
            iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
        ],
    )
    for secret in (data.db_secret, data.redis_secret, data.jwt_secret, data.alipay_secret):
        secret.grant_read(role)
    data.mail_queue.grant_send_messages(role)
    data.mail_queue.grant_consume_messages(role)
    data.mail_identity.grant_send_email(role)
    return role


def build(
    scope: Stack,
    stage: str,
    source_dir: Path,
    net: Network,
    data: Data,
    size: StageSize,
    options: Options,
) -> ShopApp:
    role = lambda_role(scope, data)
    stage_config = {
        "manage_iam_role": False,
        "iam_role_arn": role.role_arn,
        "xray": True,
        "subnet_ids": net.vpc.select_subnets(subnet_type=net.app_subnets.subnet_type).subnet_ids,
        "security_group_ids": [net.lambda_sg.security_group_id],
        "lambda_timeout": 29,
        # Every function but the API (scheduled jobs, migrate, workers); the API's own
        # values are set below: chalice lets these top-level values win over any
        # per-function "lambda_functions" entry passed here.
        "lambda_memory_size": size.job_memory_mb,
        "reserved_concurrency": size.job_reserved_concurrency,
        "environment_variables": environment(stage, data, options),
    }
    # The Chalice stage is the name of the enclosing scope: the stack id ("dev"/"prod").
    chalice = ProjectPackagedChalice(
        scope, "Shop", source_dir=str(source_dir), stage_config=stage_config
    )

    functions = {
        child.node.id: child
        for child in chalice.sam_template.node.children
        if isinstance(child, CfnResource) and child.cfn_resource_type == "AWS::Serverless::Function"
    }
    api = functions[API_FUNCTION]
    api.add_property_override("MemorySize", size.api_memory_mb)
    api.add_property_override("ReservedConcurrentExecutions", size.api_reserved_concurrency)
    provisioned = provisioned_concurrency(size, options)
    if provisioned:
        serve_through_alias(chalice, api, provisioned)
    if MIGRATE_FUNCTION in functions:
        # Alembic on an empty database takes longer than a request may.
        functions[MIGRATE_FUNCTION].add_property_override("Timeout", MIGRATE_TIMEOUT_SECONDS)
    workers = wire_queue_workers(chalice, functions, data, size)
    lambdas, proxy_connections = budget(size, len(functions), len(workers))
    if lambdas > proxy_connections:
        raise ValueError(
            f"{stage}: {len(functions)} functions may hold {lambdas} database connections, "
            f"the proxy opens {proxy_connections}: raise max_connections or lower concurrency"
        )

    rest_api = chalice.get_resource(API_RESOURCE)
    # `chalice package` leaves API Gateway tracing off (chalice deploy turns it on).
    rest_api.add_property_override("TracingEnabled", True)
    # Two stages in one account must not share an API name: alarms select by ApiName.
    rest_api.add_property_override("Name", f"{scope.stack_name}-api")
    # Unknown paths: API Gateway answers 403 {"message": "Missing Authentication Token"};
    # the API's clients expect 404 in the API's error shape. Declared on the SAM API (not
    # as a separate AWS::ApiGateway::GatewayResponse) so it is part of the swagger body and
    # therefore of the deployment SAM creates: a separate resource would be created after
    # that deployment and would not be live until the next one.
    rest_api.add_property_override(
        "GatewayResponses",
        {
            "MISSING_AUTHENTICATION_TOKEN": {
                "StatusCode": "404",
                "ResponseTemplates": {"application/json": NOT_FOUND_BODY},
            }
        },
    )

    # Log groups owned by the stack: retention, and the notify metric filter needs the API's
    # group. Each function gets a fixed name and depends on its group, so the group exists
    # before anything (a schedule, the migrate trigger) can invoke the function; otherwise
    # Lambda creates the group first and CloudFormation's create fails on it. Not chalice's
    # log_retention_in_days: chalice 1.34 names the API's group /aws/lambda/${ApiHandler},
    # a resource that does not exist (the function is APIHandler).
    log_groups = {}
    for name, fn in functions.items():
        function_name = f"{scope.stack_name}-{name}"
        if len(function_name) > 64:  # Lambda's limit
            raise ValueError(f"function name {function_name!r} is longer than 64 characters")
        fn.add_property_override("FunctionName", function_name)
        log_groups[name] = logs.LogGroup(
            scope,
            f"{name}Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=logs.RetentionDays[size.log_retention],
            removal_policy=RemovalPolicy.RETAIN if size.protect_data else RemovalPolicy.DESTROY,
        )
        fn.node.add_dependency(log_groups[name])

    trigger = None
    if MIGRATE_FUNCTION in functions:
        trigger = migrate_on_deploy(scope, chalice, functions, net)

    CfnOutput(
        scope,
        "AlipayNotifyUrl",
        description="Alipay's notify URL (API_BASE_URL + this path must match it)",
        value=f"https://{rest_api.ref}.execute-api.{scope.region}.{scope.url_suffix}"
        f"/{API_STAGE}{NOTIFY_PATH}",
    )
    return ShopApp(
        chalice=chalice, functions=functions, log_groups=log_groups, migrate_trigger=trigger
    )


def serve_through_alias(chalice: Chalice, api: CfnResource, provisioned: int) -> None:
    """Provisioned concurrency for the API function, the way Lambda and SAM need it.

    Lambda provisions concurrency on a published version or an alias, never on $LATEST:
    SAM's AutoPublishAlias publishes a version whenever the code or configuration changes
    and points the alias `live` at it, with ProvisionedConcurrencyConfig on the alias. API
    Gateway must then invoke the alias, or the provisioned containers would sit idle while
    every request went to $LATEST: chalice's swagger names the function's ARN in each
    route's integration, and its permission lets API Gateway invoke the function, so both
    are rewritten to `APIHandler.Alias` (SAM resolves it to the alias' ARN).
    """
    api.add_property_override("AutoPublishAlias", API_ALIAS)
    api.add_property_override(
        "ProvisionedConcurrencyConfig", {"ProvisionedConcurrentExecutions": provisioned}
    )
    sam = json.loads((Path(chalice._sam_package_dir) / "sam.json").read_text())
    body = sam["Resources"][API_RESOURCE]["Properties"]["DefinitionBody"]
    chalice.get_resource(API_RESOURCE).add_property_override(
        "DefinitionBody", integrations_through_alias(body)
    )
    chalice.get_resource(API_PERMISSION).add_property_override(
        "FunctionName", {"Ref": f"{API_FUNCTION}.Alias"}
    )
    # CDK's template check knows no resource named `APIHandler.Alias`: SAM makes it.
    for name in (API_RESOURCE, API_PERMISSION):
        Validations.of(chalice.get_resource(name)).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::F1020",
                reason=f"{API_FUNCTION}.Alias is SAM's AutoPublishAlias, made by the transform",
            )
        )


def integrations_through_alias(body: dict[str, Any]) -> dict[str, Any]:
    """The swagger body with every integration invoking the API function's alias.

    `Fn::Sub` with the alias as a variable (`Ref: APIHandler.Alias`): SAM resolves that
    Ref; cfn-lint, which checks the template before the transform, knows it too, but reads
    `${APIHandler.Alias}` inside the text as an attribute of the function."""
    function_arn = f"${{{API_FUNCTION}.Arn}}"
    replaced = 0

    def rewrite(node: Any) -> Any:
        nonlocal replaced
        if isinstance(node, dict):
            text = node.get("Fn::Sub")
            if len(node) == 1 and isinstance(text, str) and function_arn in text:
                replaced += 1
                variable = f"{API_FUNCTION}{API_ALIAS.capitalize()}Alias"
                return {
                    "Fn::Sub": [
                        text.replace(function_arn, f"${{{variable}}}"),
                        {variable: {"Ref": f"{API_FUNCTION}.Alias"}},
                    ]
                }
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(value) for value in node]
        return node

    rewritten: dict[str, Any] = rewrite(body)
    if not replaced or function_arn in json.dumps(rewritten):
        raise ValueError(f"the API integrations name {function_arn} in an unexpected form")
    return rewritten


def wire_queue_workers(
    chalice: Chalice, functions: dict[str, CfnResource], data: Data, size: StageSize
) -> list[str]:
    """Point every SQS event source of the app at the stack's mail queue; size the workers.

    `@on_sqs_message(queue=...)` names a queue at import time, the same for every stage;
    the stack's queue has a generated name, so its ARN replaces whatever the code named.
    There is one queue: a second worker must get its own queue here first.
    """
    # chalice 1.34 keeps the packaged template in _sam_package_dir: the CfnResource
    # objects of CfnInclude do not expose their properties for reading.
    sam = json.loads((Path(chalice._sam_package_dir) / "sam.json").read_text())
    workers = []
    for name, fn in functions.items():
        events = sam["Resources"][name]["Properties"].get("Events", {})
        for event_name, event in events.items():
            if event["Type"] != "SQS":
                continue
            workers.append(name)
            fn.add_property_override(
                f"Events.{event_name}.Properties.Queue", data.mail_queue.queue_arn
            )
            fn.add_property_override(
                "ReservedConcurrentExecutions", size.worker_reserved_concurrency
            )
    if len(workers) > 1:
        raise ValueError(f"queue workers {workers}: the stack has one queue (mail)")
    return workers


# Runs in the VPC (the NAT reaches the Lambda API). Fails the deployment, and so rolls it
# back, when the migrate function raises: lambda:Invoke reports that as FunctionError with
# HTTP 200, which AwsCustomResource would take for success. cfnresponse is provided by
# Lambda for inline (ZipFile) code.
MIGRATE_TRIGGER_CODE = """
import json

import boto3
import cfnresponse
from botocore.config import Config


def handler(event, context):
    status, data, reason = cfnresponse.SUCCESS, {}, None
    try:
        if event["RequestType"] in ("Create", "Update"):
            client = boto3.client(
                "lambda", config=Config(read_timeout=880, retries={"max_attempts": 0})
            )
            reply = client.invoke(
                FunctionName=event["ResourceProperties"]["FunctionName"],
                InvocationType="RequestResponse",
                Payload=json.dumps({"source": "cloudformation"}).encode(),
            )
            payload = reply["Payload"].read().decode("utf-8", "replace")
            print("migrate replied", reply.get("FunctionError"), payload[:4000])
            if reply.get("FunctionError"):
                raise RuntimeError("migrate failed: " + payload[:300])
            data = {"Result": payload[:200]}
    except Exception as exc:  # any failure must still answer CloudFormation
        status, reason = cfnresponse.FAILED, str(exc)[:500]
    cfnresponse.send(event, context, status, data, "migrate", reason=reason)
"""


def migrate_on_deploy(
    scope: Stack, chalice: Chalice, functions: dict[str, CfnResource], net: Network
) -> CustomResource:
    """Invoke the app's `migrate` function on deploy, before the new code takes traffic.

    The custom resource's properties carry the code asset's hash: whenever the package
    changes (the only way a new migration arrives) CloudFormation updates it, which
    invokes migrate again. Every other function and the API depend on it, so their new
    code and the new API deployment go live only after the migrations succeeded.
    """
    migrate = chalice.get_function(MIGRATE_FUNCTION)
    runner = lambda_.Function(
        scope,
        "MigrateTrigger",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(MIGRATE_TRIGGER_CODE),
        timeout=Duration.seconds(MIGRATE_TIMEOUT_SECONDS + 300),
        vpc=net.vpc,
        vpc_subnets=net.app_subnets,
        security_groups=[net.lambda_sg],
        tracing=lambda_.Tracing.ACTIVE,
        description="Runs the shop's Alembic migrations (the migrate function) on deploy",
    )
    # On the runner's role: grant_invoke on an imported function would try (and fail) to
    # add a resource policy to a function it cannot see.
    runner.add_to_role_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[migrate.function_arn])
    )
    code_asset = chalice.node.find_child("ChaliceAppCode")
    trigger = CustomResource(
        scope,
        "MigrateOnDeploy",
        service_token=runner.function_arn,
        resource_type="Custom::ShopMigrate",
        properties={
            "FunctionName": migrate.function_arn,
            "CodeHash": code_asset.asset_hash,  # type: ignore[attr-defined]
        },
    )
    for name, fn in functions.items():
        if name != MIGRATE_FUNCTION:
            fn.node.add_dependency(trigger)
    chalice.get_resource(API_RESOURCE).node.add_dependency(trigger)
    return trigger
