"""RDS behind RDS Proxy, ElastiCache Redis, the mail queue, SES and the app's secrets."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shop_infra.network import MYSQL_PORT, REDIS_PORT, Network
from shop_infra.settings import Options, StageSize

DATABASE_NAME = "shop"
# Below API Gateway's 29 s integration timeout and the Lambda's 29 s: a request waiting
# for a pooled connection gets the app's 503 ("database busy") instead of a gateway 504.
# The app's own pool_timeout is 10 s too (chalicelib/db/engine.py).
PROXY_BORROW_TIMEOUT_SECONDS = 10
LOCK_WAIT_TIMEOUT_SECONDS = 5  # chalicelib.db.engine.MYSQL_LOCK_WAIT_SECONDS


@dataclass
class Data:
    db: rds.DatabaseInstance
    db_secret: secretsmanager.ISecret
    proxy: rds.DatabaseProxy
    redis: elasticache.CfnReplicationGroup
    redis_secret: secretsmanager.Secret
    jwt_secret: secretsmanager.Secret
    alipay_secret: secretsmanager.Secret
    mail_queue: sqs.Queue
    mail_dlq: sqs.Queue
    mail_identity: ses.EmailIdentity


def session_settings(engine: str) -> dict[str, str]:
    """Server-side session defaults the app used to SET per connection.

    SET SESSION on a proxied connection pins it to one database connection for its life
    (FACTS.md), so these live in the parameter group and the proxy's init query instead.
    MariaDB 10.11 names the isolation variable tx_isolation; MySQL 8 transaction_isolation.
    """
    isolation = "tx_isolation" if engine.startswith("mariadb") else "transaction_isolation"
    return {
        "innodb_lock_wait_timeout": str(LOCK_WAIT_TIMEOUT_SECONDS),
        isolation: "READ-COMMITTED",
    }


def _engine(name: str) -> rds.IInstanceEngine:
    # Full versions (CloudFormation's validation knows those); minor upgrades stay automatic.
    if name == "mariadb10.11":
        return rds.DatabaseInstanceEngine.maria_db(version=rds.MariaDbEngineVersion.VER_10_11_16)
    # MySQL 8.4, the LTS release of MySQL 8: 8.0 left RDS standard support in July 2026.
    return rds.DatabaseInstanceEngine.mysql(version=rds.MysqlEngineVersion.VER_8_4_10)


def build(scope: Construct, net: Network, size: StageSize, options: Options) -> Data:
    removal = RemovalPolicy.SNAPSHOT if size.protect_data else RemovalPolicy.DESTROY
    engine = _engine(options.db_engine)
    settings = session_settings(options.db_engine)

    parameters = rds.ParameterGroup(
        scope,
        "DbParameters",
        engine=engine,
        description=f"shop {options.db_engine}: utf8mb4, READ-COMMITTED, 5 s lock waits",
        parameters={
            **settings,
            "max_connections": str(size.db_max_connections),
            # What the tests run on (scripts/with-test-servers) and what the search term
            # index assumes (bench/catalog/collation_check.py); MySQL 8 would otherwise
            # create the database with utf8mb4_0900_ai_ci, MariaDB 10.11 with latin1.
            "character_set_server": "utf8mb4",
            "collation_server": "utf8mb4_unicode_ci",
        },
    )
    db = rds.DatabaseInstance(
        scope,
        "Database",
        engine=engine,
        instance_type=ec2.InstanceType(size.db_instance_class),
        vpc=net.vpc,
        vpc_subnets=net.data_subnets,
        security_groups=[net.db_sg],
        # CDK generates the password into a Secrets Manager secret: {"username", "password",
        # "host", "port", ...}; nobody ever types it.
        credentials=rds.Credentials.from_generated_secret("shop"),
        database_name=DATABASE_NAME,
        parameter_group=parameters,
        multi_az=size.db_multi_az,
        allocated_storage=20,
        max_allocated_storage=200,
        storage_encrypted=True,
        backup_retention=Duration.days(7 if size.protect_data else 1),
        deletion_protection=size.protect_data,
        removal_policy=removal,
        auto_minor_version_upgrade=True,
        port=MYSQL_PORT,
    )
    assert db.secret is not None
    init_query = "SET " + ", ".join(
        f"SESSION {k}={v if v.isdigit() else repr(v)}" for k, v in settings.items()
    )
    proxy = rds.DatabaseProxy(
        scope,
        "DbProxy",
        proxy_target=rds.ProxyTarget.from_instance(db),
        secrets=[db.secret],
        vpc=net.vpc,
        vpc_subnets=net.data_subnets,
        security_groups=[net.proxy_sg],
        require_tls=True,
        borrow_timeout=Duration.seconds(PROXY_BORROW_TIMEOUT_SECONDS),
        max_connections_percent=size.proxy_max_connections_percent,
        init_query=init_query,
        iam_auth=False,
    )

    # Redis: TLS in transit and an AUTH token generated into Secrets Manager; CloudFormation
    # reads it with a dynamic reference, so the token never appears in the template.
    redis_secret = secretsmanager.Secret(
        scope,
        "RedisAuth",
        description="ElastiCache AUTH token (key: token)",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template="{}",
            generate_string_key="token",
            exclude_punctuation=True,  # AUTH tokens refuse @, " and /
            password_length=64,
        ),
    )
    redis_subnets = elasticache.CfnSubnetGroup(
        scope,
        "RedisSubnets",
        description="shop Redis, isolated subnets",
        subnet_ids=net.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
    )
    redis = elasticache.CfnReplicationGroup(
        scope,
        "Redis",
        replication_group_description="shop cart, sessions, caches",
        engine="redis",
        engine_version="7.1",
        cache_node_type=size.redis_node_type,
        num_cache_clusters=1 + size.redis_replicas,
        automatic_failover_enabled=size.redis_replicas > 0,
        multi_az_enabled=size.redis_replicas > 0,
        transit_encryption_enabled=True,
        at_rest_encryption_enabled=True,
        auth_token=redis_secret.secret_value_from_json("token").unsafe_unwrap(),
        cache_subnet_group_name=redis_subnets.ref,
        security_group_ids=[net.redis_sg.security_group_id],
        port=REDIS_PORT,
    )
    redis.apply_removal_policy(removal)

    jwt_secret = secretsmanager.Secret(
        scope,
        "JwtSecret",
        description="HS256 signing secret for shop JWTs (key: secret)",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template="{}",
            generate_string_key="secret",
            exclude_punctuation=True,
            password_length=64,
        ),
    )
    # The Alipay keys cannot be generated: the operator puts the app private key and
    # Alipay's public key (PEM) in with `aws secretsmanager put-secret-value` (DEPLOY.md).
    alipay_secret = secretsmanager.Secret(
        scope,
        "AlipayKeys",
        description="Alipay keys, PEM: app_private_key, alipay_public_key (fill by hand)",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template='{"app_private_key": "", "alipay_public_key": ""}',
            generate_string_key="unused",
        ),
    )

    mail_dlq = sqs.Queue(
        scope,
        "MailDlq",
        retention_period=Duration.days(14),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    mail_queue = sqs.Queue(
        scope,
        "MailQueue",
        # six times the worker's 29 s timeout, as Lambda's SQS guide advises
        visibility_timeout=Duration.seconds(180),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(queue=mail_dlq, max_receive_count=5),
    )
    identity = (
        ses.Identity.email(options.ses_identity)
        if "@" in options.ses_identity
        else ses.Identity.domain(options.ses_identity)
    )
    mail_identity = ses.EmailIdentity(scope, "MailIdentity", identity=identity)

    return Data(
        db=db,
        db_secret=db.secret,
        proxy=proxy,
        redis=redis,
        redis_secret=redis_secret,
        jwt_secret=jwt_secret,
        alipay_secret=alipay_secret,
        mail_queue=mail_queue,
        mail_dlq=mail_dlq,
        mail_identity=mail_identity,
    )
