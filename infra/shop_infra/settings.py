"""What differs between dev and prod, and the knobs an operator sets with `-c key=value`.

Context, not CloudFormation parameters: these values decide which resources exist (the
engine class, the alarm subscription, the parameter-group family), which CloudFormation
parameters can only do through conditions on every resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The region `make synth` uses: every service here (RDS Proxy, ElastiCache with TLS, SES,
# SQS, X-Ray, API Gateway) exists in ap-southeast-1. cfn-lint, which checks resource types
# per region, refuses AWS::SES::EmailIdentity in ap-east-1 (Hong Kong) and cn-north-1.
DEFAULT_REGION = "ap-southeast-1"
# A placeholder account for offline synthesis; `cdk deploy` replaces it with the caller's.
OFFLINE_ACCOUNT = "123456789012"

ENGINES = ("mysql8", "mariadb10.11")


@dataclass(frozen=True)
class StageSize:
    """Sizing of one stage. The connection arithmetic is checked at synth (see budget())."""

    nat_gateways: int
    api_memory_mb: int
    api_reserved_concurrency: int
    # API containers Lambda keeps initialized (0: none, every container starts on demand);
    # context `api_provisioned_concurrency` overrides it (see provisioned_concurrency())
    api_provisioned_concurrency: int
    # every other function (each scheduled job, the migrate function, a queue worker):
    # one at a time, so two runs of the same job never overlap
    job_memory_mb: int
    job_reserved_concurrency: int
    # a queue worker (the mail worker): SQS's MaximumConcurrency is at least 2, and a
    # worker reserved below it is throttled, which counts as a receive: mail would reach
    # the dead-letter queue without ever failing
    worker_reserved_concurrency: int
    db_instance_class: str
    db_multi_az: bool
    db_max_connections: int
    proxy_max_connections_percent: int
    redis_node_type: str
    redis_replicas: int  # cache clusters besides the primary
    log_retention: str  # a logs.RetentionDays member
    protect_data: bool  # deletion protection + snapshot on stack delete


STAGES: dict[str, StageSize] = {
    # dev: API 20 + 5 jobs and migrate x 1 + mail worker 2 = 27 connections at most;
    # proxy 50% of max_connections 100 = 50 >= 27.
    "dev": StageSize(
        nat_gateways=1,
        api_memory_mb=1024,
        api_reserved_concurrency=20,
        api_provisioned_concurrency=0,
        job_memory_mb=512,
        job_reserved_concurrency=1,
        worker_reserved_concurrency=2,
        db_instance_class="t4g.small",
        db_multi_az=False,
        db_max_connections=100,
        proxy_max_connections_percent=50,
        redis_node_type="cache.t4g.small",
        redis_replicas=0,
        log_retention="TWO_WEEKS",
        protect_data=False,
    ),
    # prod: API 150 + 5 jobs and migrate x 1 + mail worker 2 = 157 connections at most;
    # proxy 60% of max_connections 300 = 180 >= 157; the other 120 are for RDS itself,
    # the operator's host and a failover's reconnect burst.
    "prod": StageSize(
        nat_gateways=2,
        api_memory_mb=1024,
        api_reserved_concurrency=150,
        api_provisioned_concurrency=2,
        job_memory_mb=1024,
        job_reserved_concurrency=1,
        worker_reserved_concurrency=2,
        db_instance_class="r6g.large",
        db_multi_az=True,
        db_max_connections=300,
        proxy_max_connections_percent=60,
        redis_node_type="cache.r7g.large",
        redis_replicas=1,
        log_retention="THREE_MONTHS",
        protect_data=True,
    ),
}


@dataclass(frozen=True)
class Options:
    """Operator settings, from CDK context (`-c name=value` or cdk.json)."""

    db_engine: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    ses_identity: str  # a domain (example.com) or one address (shop@example.com)
    mail_from: str
    alarm_email: str | None
    fastdfs_trackers: tuple[str, ...]  # host:port of each tracker
    fastdfs_cidr: str  # where the trackers and storage servers live
    media_url: str
    api_base_url: str
    frontend_url: str
    cors_allowed_origins: str
    alipay_app_id: str
    alipay_gateway: str
    api_provisioned_concurrency: int | None = None  # None: the stage's StageSize value

    @classmethod
    def from_context(cls, get: Any, *, stage: str, region: str) -> Options:
        def value(name: str, default: str) -> str:
            found = get(f"{stage}:{name}") or get(name)
            return str(found) if found not in (None, "") else default

        provisioned = value("api_provisioned_concurrency", "")
        if provisioned and not (provisioned.isascii() and provisioned.isdigit()):
            raise ValueError(
                f"api_provisioned_concurrency must be a whole number, got {provisioned!r}"
            )
        engine = value("db_engine", "mysql8")
        if engine not in ENGINES:
            raise ValueError(f"db_engine must be one of {ENGINES}, got {engine!r}")
        sandbox = stage != "prod"
        domain = value("ses_identity", "example.com")
        return cls(
            db_engine=engine,
            availability_zones=tuple(
                value("availability_zones", f"{region}a,{region}b").split(",")
            ),
            vpc_cidr=value("vpc_cidr", "10.20.0.0/16" if stage == "prod" else "10.30.0.0/16"),
            ses_identity=domain,
            mail_from=value("mail_from", f"noreply@{domain.split('@')[-1]}"),
            alarm_email=value("alarm_email", "") or None,
            fastdfs_trackers=tuple(
                t.strip()
                for t in value("fastdfs_trackers", "10.40.0.10:22122,10.40.0.11:22122").split(",")
                if t.strip()
            ),
            fastdfs_cidr=value("fastdfs_cidr", "10.40.0.0/24"),
            media_url=value("media_url", "https://img.example.com/"),
            # The stage URL cannot be wired in: the API's definition references the
            # function, so the function's environment cannot reference the API (a cycle).
            # Use a custom domain, or deploy once and pass the EndpointURL output.
            api_base_url=value("api_base_url", "https://api.example.com/api"),
            frontend_url=value("frontend_url", "https://www.example.com"),
            cors_allowed_origins=value("cors_allowed_origins", "https://www.example.com"),
            alipay_app_id=value("alipay_app_id", "2021000000000000"),
            alipay_gateway=value(
                "alipay_gateway",
                "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
                if sandbox
                else "https://openapi.alipay.com/gateway.do",
            ),
            api_provisioned_concurrency=int(provisioned) if provisioned else None,
        )


def provisioned_concurrency(size: StageSize, options: Options) -> int:
    """API containers to keep initialized: the context's value, else the stage's.

    Lambda takes provisioned concurrency out of the function's reserved concurrency, and
    refuses more than that; 0 turns it off (no alias, API Gateway invokes $LATEST).
    """
    found = options.api_provisioned_concurrency
    count = size.api_provisioned_concurrency if found is None else found
    if count > size.api_reserved_concurrency:
        raise ValueError(
            f"api_provisioned_concurrency {count} exceeds the API's reserved concurrency "
            f"{size.api_reserved_concurrency}"
        )
    return count


def budget(size: StageSize, function_count: int, workers: int = 0) -> tuple[int, int]:
    """(connections the Lambdas may hold, connections the proxy may open).

    Each Lambda container holds at most one database connection (pool_size=1 on Lambda,
    chalicelib/db/engine.py), so the Lambdas can hold at most the sum of their reserved
    concurrency; the proxy opens at most max_connections_percent of max_connections.
    `function_count` counts every function: the API, `workers` queue workers, the rest jobs.
    """
    jobs = function_count - 1 - workers
    lambdas = (
        size.api_reserved_concurrency
        + jobs * size.job_reserved_concurrency
        + workers * size.worker_reserved_concurrency
    )
    proxy = size.db_max_connections * size.proxy_max_connections_percent // 100
    return lambdas, proxy
