"""The built deployment package, run as Lambda runs it, against the real servers of this run.

build/dev/deployment.zip (built by scripts/package, or reused when newer than its
inputs) is unpacked into an empty folder. Each function of the generated template gets
its own clean interpreter ("container") with sys.path = that folder + the standard
library: no venv, no project checkout. The dev stage's settings point at this run's
MariaDB (a database of its own), Redis, a FastDFS protocol server and a fake Alipay.
`migrate` runs first on the empty database; the API handler then gets API Gateway
REST proxy events, each job an EventBridge scheduled event, the mail worker an SQS event.
Mail goes to a fake SQS/SES endpoint (tests/fakes/aws_mail.py, through boto3's
AWS_ENDPOINT_URL_SQS/SES): moto cannot reach into the child interpreters, and its
standalone server needs Flask, which is not installed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text

from chalicelib.jobs import scheduled_event
from tests.factories import ADDRESS
from tests.fakes.alipay import FakeAlipay, KeyPair
from tests.fakes.aws_mail import FakeAwsMail
from tests.fakes.fastdfs_server import FakeFastDFS
from tests.fakes.xray_daemon import XrayDaemon, descendants, flatten
from tests.packaged import (
    ROOT,
    LambdaProcess,
    api_event,
    child_environment,
    ensure_package,
    sqs_event,
    template_handlers,
    unpack,
)

SERVER = os.environ.get("TEST_DATABASE_URL")
REDIS = os.environ.get("TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not (SERVER and REDIS), reason="runs in the real pass (TEST_DATABASE_URL, TEST_REDIS_URL)"
)

APP_ID = "2021004100000077"
# What Lambda sets with active tracing: the trace header of the invocation (one per
# container here) under which the SDK's facade segment hangs our subsegments.
TRACE_ROOT, TRACE_PARENT = "1-6b0fb22b-00000000000000000000c0de", "53995c3f42cd8ad8"
JWT_SECRET = "package-smoke-" + "s" * 40
FORM = "application/x-www-form-urlencoded; charset=utf-8"
HANDLERS = {
    "APIHandler": "app.app",
    "Migrate": "chalicelib.jobs.migrate",
    "JobRollupStats": "chalicelib.jobs.job_rollup_stats",
    "JobExpireOrders": "chalicelib.jobs.job_expire_orders",
    "JobReconcilePayments": "chalicelib.jobs.job_reconcile_payments",
    "JobRetryFileDeletions": "chalicelib.jobs.job_retry_file_deletions",
    "MailWorker": "chalicelib.jobs.mail_worker",
}
MAIL_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/jiadian-shop-dev-mail"
MAIL_FROM = "家电之选 <no-reply@shop.example.test>"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = ensure_package("dev")
    folder = unpack(out / "deployment.zip", tmp_path_factory.mktemp("task") / "task")
    return folder, template_handlers(out)


@pytest.fixture(scope="module")
def package_database() -> Iterator[str]:
    assert SERVER
    name = f"shop_package_{uuid.uuid4().hex[:8]}"
    server = create_engine(SERVER)
    with server.begin() as conn:
        conn.execute(
            text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    try:
        yield SERVER.rstrip("/") + "/" + name + "?charset=utf8mb4"
    finally:
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    import redis

    assert REDIS
    # A Redis database of its own: the other tests of the pass flush database 0.
    url = REDIS.rsplit("/", 1)[0] + "/9"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def alipay() -> Iterator[FakeAlipay]:
    fake = FakeAlipay(
        app_id=APP_ID,
        app_keys=KeyPair.generate(),
        alipay_keys=KeyPair.generate(),
        wrong_keys=KeyPair.generate(),
    ).serve()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def fastdfs() -> Iterator[FakeFastDFS]:
    with FakeFastDFS() as fake:
        yield fake


@pytest.fixture(scope="module")
def aws_mail() -> Iterator[FakeAwsMail]:
    with FakeAwsMail() as fake:
        yield fake


@pytest.fixture(scope="module")
def xray_daemon() -> Iterator[XrayDaemon]:
    daemon = XrayDaemon()
    yield daemon
    daemon.close()


@pytest.fixture(scope="module")
def stage_settings(
    package_database: str,
    redis_url: str,
    alipay: FakeAlipay,
    fastdfs: FakeFastDFS,
    aws_mail: FakeAwsMail,
) -> dict[str, str]:
    """Every setting the dev stage requires (chalicelib/config.py), as the stack sets them."""
    return {
        "SHOP_STAGE": "dev",
        "DATABASE_URL": package_database,
        "REDIS_URL": redis_url,
        "STORAGE_URL": fastdfs.url,
        "MEDIA_URL": "https://media.example.test/",
        "MAIL_URL": f"sqs://{MAIL_QUEUE_URL}",
        "MAIL_FROM": MAIL_FROM,
        # Lambda's role credentials and, for this run only, where SQS and SES answer
        "AWS_ACCESS_KEY_ID": "AKIAPACKAGESMOKETEST",
        "AWS_SECRET_ACCESS_KEY": "package-smoke-test",
        "AWS_ENDPOINT_URL_SQS": aws_mail.url,
        "AWS_ENDPOINT_URL_SES": aws_mail.url,
        "API_BASE_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/api",
        "JWT_SECRET": JWT_SECRET,
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_GATEWAY": alipay.url,
        "ALIPAY_APP_PRIVATE_KEY": alipay.app_keys.private_pem,
        "ALIPAY_PUBLIC_KEY": alipay.alipay_keys.public_base64,
    }


@pytest.fixture(scope="module")
def functions(
    package: tuple[Path, dict[str, str]], stage_settings: dict[str, str], xray_daemon: XrayDaemon
) -> Iterator[dict[str, LambdaProcess]]:
    """One container per function of the template, each started from the unpacked zip.

    Traced as on AWS (the dev stage traces): Lambda's task root and trace header are set,
    and the SDK sends to our daemon socket.
    """
    folder, handlers = package
    tracing = {
        "AWS_XRAY_SDK_ENABLED": "true",
        "AWS_XRAY_DAEMON_ADDRESS": xray_daemon.address,
        "LAMBDA_TASK_ROOT": str(folder),
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent={TRACE_PARENT};Sampled=1",
    }
    started = {
        name: LambdaProcess(
            folder,
            handler,
            child_environment({**stage_settings, **tracing}, f"jiadian-shop-dev-{name}"),
        )
        for name, handler in handlers.items()
    }
    yield started
    for process in started.values():
        process.close()


@pytest.fixture(scope="module")
def migrations(functions: dict[str, LambdaProcess]) -> list[Any]:
    """migrate, invoked twice (as a deployment would on a retry), before anything else."""
    return [functions["Migrate"].invoke({}) for _ in range(2)]


@pytest.fixture(scope="module")
def api(functions: dict[str, LambdaProcess], migrations: list[Any]) -> Any:
    process = functions["APIHandler"]

    def call(method: str, path: str, resource: str, **kwargs: Any) -> tuple[int, Any]:
        response = process.invoke(api_event(method, path, resource, **kwargs))
        body = response["body"]
        content_type = response["headers"].get("Content-Type", "")
        return response["statusCode"], (
            json.loads(body) if content_type.startswith("application/json") and body else body
        )

    return call


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from chalicelib.migrations import alembic_config

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


def add_sku(package_database: str) -> tuple[int, int]:
    """A launched SKU at 5999.00 with 5 in stock; (category id, sku id)."""
    from chalicelib.db.engine import build_engine
    from tests import factories

    engine = build_engine(package_database)
    try:
        with engine.begin() as conn:
            category = factories.third_level_category(conn)
            sku = factories.sku(
                conn,
                category_id=category,
                name="格力 云佳 1.5匹",
                caption="新一级能效",
                price=599900,
                stock=5,
                is_launched=True,
            )
    finally:
        engine.dispose()
    return category, sku


def test_every_function_of_the_template_loads_from_the_package_alone(
    package: tuple[Path, dict[str, str]], functions: dict[str, LambdaProcess]
) -> None:
    _, handlers = package

    assert handlers == HANDLERS
    for process in functions.values():
        assert process.loaded["site_packages"] == []
        assert process.loaded["outside_task"] == []


def test_migrate_creates_the_schema_on_an_empty_database_and_then_changes_nothing(
    migrations: list[Any],
) -> None:
    head = head_revision()

    assert migrations == [{"before": None, "after": head}, {"before": head, "after": head}]


def test_a_shopper_signs_up_orders_and_pays_with_alipay(
    api: Any, package_database: str, alipay: FakeAlipay
) -> None:
    # given a catalogue with one SKU
    category, sku = add_sku(package_database)

    # when a shopper goes from sign-up to a paid order through the API handler
    health = api("GET", "/health/", "/health")
    signup = api(
        "POST",
        "/users/",
        "/users",
        body=json.dumps({"username": "zhang_san", "password": "correct-horse-1"}),
        headers={"Content-Type": "application/json"},
    )
    login = api(
        "POST",
        "/authorizations/",
        "/authorizations",
        body=json.dumps({"username": "zhang_san", "password": "correct-horse-1"}),
        headers={"Content-Type": "application/json"},
    )
    token = login[1]["token"]
    page = api("GET", "/skus/", "/skus", query={"category": str(category), "page": "1"})
    added = api(
        "POST",
        "/cart/",
        "/cart",
        body=json.dumps({"sku_id": sku, "count": 2, "selected": True}),
        headers=bearer(token),
    )
    address = api(
        "POST",
        "/addresses/",
        "/addresses",
        body=json.dumps({"title": "家", **ADDRESS}),
        headers=bearer(token),
    )
    order = api(
        "POST",
        "/orders/",
        "/orders",
        body=json.dumps({"address_id": address[1]["id"], "pay_method": "alipay"}),
        headers=bearer(token),
    )
    order_id = order[1]["order_id"]
    notify = api(
        "POST",
        "/payments/alipay/notify/",
        "/payments/alipay/notify",
        body=urlencode(alipay.notify(order_id, order[1]["payment_amount"])),
        headers={"Content-Type": FORM},
    )
    paid = api(
        "GET",
        f"/orders/{order_id}/",
        "/orders/{order_id}",
        path_parameters={"order_id": order_id},
        headers=bearer(token),
    )

    # then every step answers as the contract says, and the order is paid
    assert health == (
        200,
        {
            "status": "ok",
            "database": "ok",
            "redis": "ok",
            "storage": "ok",
            "circuits": {"database": "closed", "redis": "closed", "storage": "closed"},
        },
    )
    assert signup[0] == 201
    assert signup[1]["username"] == "zhang_san"
    assert login[0] == 200
    assert login[1]["user_id"] == signup[1]["id"]
    assert page[0] == 200
    assert page[1]["count"] == 1
    assert [(s["id"], s["name"], s["price"]) for s in page[1]["lists"]] == [
        (sku, "格力 云佳 1.5匹", "5999.00")
    ]
    assert added[0] == 201
    assert address[0] == 201
    assert order[0] == 201
    assert (order[1]["status"], order[1]["total_amount"], order[1]["payment_amount"]) == (
        1,
        "11998.00",
        "11998.00",
    )
    assert notify == (200, "success")
    assert paid[0] == 200
    assert paid[1]["status"] == 2


def test_a_staff_member_reads_the_admin_statistics(api: Any, package_database: str) -> None:
    from chalicelib.db.engine import build_engine
    from chalicelib.db.tables import users
    from chalicelib.services import accounts

    # given a staff user (registered with the shop's own rules)
    engine = build_engine(package_database)
    try:
        with engine.begin() as conn:
            accounts.register(
                conn,
                username="admin_li",
                password="Admin12345",
                email="",
                mobile=None,
                is_staff=True,
                is_superuser=True,
            )
            user_count = len(conn.execute(select(users.c.id)).all())
    finally:
        engine.dispose()

    # when they log in to the admin and ask for the user count
    login = api(
        "POST",
        "/meiduo_admin/authorizations/",
        "/meiduo_admin/authorizations",
        body=json.dumps({"username": "admin_li", "password": "Admin12345"}),
        headers={"Content-Type": "application/json"},
    )
    total = api(
        "GET",
        "/meiduo_admin/statistical/total_count/",
        "/meiduo_admin/statistical/total_count",
        headers=bearer(login[1]["token"]),
    )

    # then the figure counts every user, dated today in the shop's time zone
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert login[0] == 200
    assert total == (200, {"count": user_count, "date": today})


def test_each_scheduled_job_runs_from_the_package(
    functions: dict[str, LambdaProcess],
    migrations: list[Any],
    package_database: str,
    fastdfs: FakeFastDFS,
) -> None:
    from chalicelib.clock import utcnow
    from chalicelib.db.engine import build_engine
    from chalicelib.db.tables import pending_file_deletions

    # given a file whose deletion failed earlier, still on the FastDFS storage server
    file_id = "group1/M00/00/00/wKgAAWbSmokeTest0001.jpg"
    fastdfs.files[file_id] = b"\xff\xd8 an old image"
    engine = build_engine(package_database)
    try:
        with engine.begin() as conn:
            conn.execute(
                pending_file_deletions.insert().values(file_id=file_id, create_time=utcnow())
            )
    finally:
        engine.dispose()

    # when EventBridge triggers each job
    results = {
        name: functions[name].invoke(scheduled_event())
        for name in (
            "JobRollupStats",
            "JobExpireOrders",
            "JobReconcilePayments",
            "JobRetryFileDeletions",
        )
    }

    # then each does its work and says so (the first roll-up backfills a year of days)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert results["JobRollupStats"] == (
        f"rolled up 366 day(s), {today - timedelta(days=365)} to {today}"
    )
    assert results["JobExpireOrders"] == (
        "0 unpaid orders cancelled, 0 paid at Alipay and settled, 0 waiting for Alipay, 0 failed"
    )
    assert results["JobReconcilePayments"] == (
        "0 of 0 unpaid Alipay orders checked: 0 settled as paid"
    )
    assert results["JobRetryFileDeletions"] == "deleted 1, still used 0"
    assert file_id not in fastdfs.files


def test_the_mail_worker_reads_the_stages_queue_one_record_at_a_time(
    package: tuple[Path, dict[str, str]],
) -> None:
    template = json.loads((ROOT / "build" / "dev" / "sam.json").read_text())

    events = template["Resources"]["MailWorker"]["Properties"]["Events"]

    assert events == {
        "MailWorkerSqsEventSource": {
            "Type": "SQS",
            "Properties": {
                "Queue": {
                    "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}"
                    ":jiadian-shop-dev-mail"
                },
                "BatchSize": 1,
                "MaximumBatchingWindowInSeconds": 0,
                "ScalingConfig": {"MaximumConcurrency": 2},
            },
        }
    }


def test_a_shopper_verifies_an_address_through_the_queue_the_worker_and_ses(
    api: Any, functions: dict[str, LambdaProcess], aws_mail: FakeAwsMail
) -> None:
    # given a signed-up shopper
    api(
        "POST",
        "/users/",
        "/users",
        body=json.dumps({"username": "li_mail", "password": "correct-horse-1"}),
        headers={"Content-Type": "application/json"},
    )
    login = api(
        "POST",
        "/authorizations/",
        "/authorizations",
        body=json.dumps({"username": "li_mail", "password": "correct-horse-1"}),
        headers={"Content-Type": "application/json"},
    )
    headers = bearer(login[1]["token"])

    # when they set an address, SQS hands the queued message to the worker, and the
    # token from the mail SES sent is put to the verification route
    changed = api(
        "PUT",
        "/user/email/",
        "/user/email",
        body=json.dumps({"email": "li.mail@example.com"}),
        headers=headers,
    )
    (queued,) = aws_mail.queued
    sent = functions["MailWorker"].invoke(sqs_event("jiadian-shop-dev-mail", queued["MessageBody"]))
    (mail,) = aws_mail.sent
    (link,) = [word for word in mail.get_content().split() if word.startswith("http")]
    token = link.split("?token=", 1)[1]
    verified = api(
        "PUT",
        "/emails/verification/",
        "/emails/verification",
        body=json.dumps({"token": token}),
        headers={"Content-Type": "application/json"},
    )
    profile = api("GET", "/user/", "/user", headers=headers)

    # then the mail went from MAIL_FROM through the dev queue and SES, and it verified
    assert changed[0] == 200
    assert queued["QueueUrl"] == MAIL_QUEUE_URL
    assert sent == f"sent 1: {aws_mail.message_ids[-1]}"
    assert (mail["From"], mail["To"]) == (MAIL_FROM, "li.mail@example.com")
    assert link.startswith(
        "https://abc123.execute-api.us-east-1.amazonaws.com/api/emails/verification/?token="
    )
    assert verified == (200, {"email_active": True})
    assert (profile[1]["email"], profile[1]["email_active"]) == ("li.mail@example.com", True)


def test_the_mail_worker_fails_the_invocation_when_ses_refuses_so_sqs_retries(
    functions: dict[str, LambdaProcess], aws_mail: FakeAwsMail
) -> None:
    # given SES refusing to send
    aws_mail.reject_sends = True
    sent_before = len(aws_mail.sent)
    body = json.dumps(
        {"version": 1, "to": "x@example.com", "subject": "主题", "text": "https://x.test/"}
    )

    # when the worker gets the record
    try:
        with pytest.raises(AssertionError, match="MessageRejected"):
            functions["MailWorker"].invoke(sqs_event("jiadian-shop-dev-mail", body))
    finally:
        aws_mail.reject_sends = False

    # then the invocation failed (SQS keeps the record) and nothing was sent
    assert len(aws_mail.sent) == sent_before


def test_the_packaged_functions_send_their_traces_to_the_daemon(
    xray_daemon: XrayDaemon, functions: dict[str, LambdaProcess]
) -> None:
    # given the tests above ran through the packaged functions, traced as on AWS
    # when we read what the daemon received
    everything = flatten(xray_daemon.received())

    # then every entity is a subsegment of Lambda's trace (no segment of our own)
    assert {(e["trace_id"], e["type"]) for e in everything} == {(TRACE_ROOT, "subsegment")}
    invocations = {e["name"]: e for e in everything if e["name"].startswith("## ")}
    # and the order's request is annotated with its user and order, its SQL and Redis traced
    order = invocations["## POST /orders"]
    assert sorted(order["annotations"]) == ["method", "order_id", "route", "user_id"]
    calls = descendants(order, everything)
    assert {e["sql"]["database_type"] for e in calls if "sql" in e} == {"MySQL"}
    assert "redis" in {e["name"] for e in calls}
    # and the Alipay notify names its order; its signature check is a subsegment
    notify = invocations["## POST /payments/alipay/notify"]
    assert notify["annotations"]["order_id"] == order["annotations"]["order_id"]
    assert [
        e["metadata"]["default"]["operation"]
        for e in descendants(notify, everything)
        if e["name"] == "alipay"
    ] == ["verify"]
    # and each job run is traced, the file deletion as a storage call
    for job in ("job_rollup_stats", "job_expire_orders", "job_reconcile_payments"):
        assert invocations[f"## {job}"]["annotations"] == {"job": job}
    deletion = descendants(invocations["## job_retry_file_deletions"], everything)
    assert [e["metadata"]["default"]["operation"] for e in deletion if e["name"] == "storage"] == [
        "delete"
    ]
