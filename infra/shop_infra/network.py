"""The VPC and the security groups between the Lambdas and what they talk to."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from shop_infra.settings import Options, StageSize

MYSQL_PORT = 3306
REDIS_PORT = 6379
FASTDFS_TRACKER_PORT = 22122
FASTDFS_STORAGE_PORT = 23000


@dataclass
class Network:
    vpc: ec2.Vpc
    app_subnets: ec2.SubnetSelection  # the Lambdas
    data_subnets: ec2.SubnetSelection  # RDS, RDS Proxy, ElastiCache
    lambda_sg: ec2.SecurityGroup
    proxy_sg: ec2.SecurityGroup
    db_sg: ec2.SecurityGroup
    redis_sg: ec2.SecurityGroup


def build(scope: Construct, size: StageSize, options: Options) -> Network:
    # Private subnets WITH a NAT gateway for the Lambdas, not isolated ones: the
    # reconciliation job calls Alipay's open API on the internet, which no VPC endpoint
    # reaches. Secrets Manager, SQS, SES, X-Ray and Lambda (the migrate trigger) go the
    # same way; interface endpoints for each would cost more than the NAT at this size.
    # The data stores sit in isolated subnets (no route out).
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        ip_addresses=ec2.IpAddresses.cidr(options.vpc_cidr),
        availability_zones=list(options.availability_zones),
        nat_gateways=size.nat_gateways,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ec2.SubnetConfiguration(
                name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
            ),
            ec2.SubnetConfiguration(
                name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            ),
        ],
    )

    lambda_sg = ec2.SecurityGroup(
        scope,
        "LambdaSg",
        vpc=vpc,
        description="Shop Lambdas: out to the proxy, Redis, FastDFS and HTTPS only",
        allow_all_outbound=False,
    )
    proxy_sg = ec2.SecurityGroup(
        scope, "ProxySg", vpc=vpc, description="RDS Proxy", allow_all_outbound=False
    )
    db_sg = ec2.SecurityGroup(
        scope, "DbSg", vpc=vpc, description="RDS instance", allow_all_outbound=False
    )
    redis_sg = ec2.SecurityGroup(
        scope, "RedisSg", vpc=vpc, description="ElastiCache Redis", allow_all_outbound=False
    )

    # Lambda -> proxy -> database; the database is reachable through the proxy only
    # (DatabaseProxy opens proxy_sg -> db_sg on the database port itself).
    lambda_sg.connections.allow_to(proxy_sg, ec2.Port.tcp(MYSQL_PORT), "Lambdas to RDS Proxy")
    lambda_sg.connections.allow_to(redis_sg, ec2.Port.tcp(REDIS_PORT), "Lambdas to Redis (TLS)")
    # AWS APIs (Secrets Manager, SQS, SES, X-Ray, Lambda) and Alipay, through the NAT.
    lambda_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: AWS APIs, Alipay")
    # FastDFS: the tracker answers with a storage server's address; both live in this CIDR.
    fastdfs = ec2.Peer.ipv4(options.fastdfs_cidr)
    lambda_sg.add_egress_rule(fastdfs, ec2.Port.tcp(FASTDFS_TRACKER_PORT), "FastDFS trackers")
    lambda_sg.add_egress_rule(fastdfs, ec2.Port.tcp(FASTDFS_STORAGE_PORT), "FastDFS storage")

    return Network(
        vpc=vpc,
        app_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        data_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        lambda_sg=lambda_sg,
        proxy_sg=proxy_sg,
        db_sg=db_sg,
        redis_sg=redis_sg,
    )
