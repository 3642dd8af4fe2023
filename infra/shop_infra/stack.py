"""One stack per stage: network, data, the Chalice app, alarms."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack, Tags
from constructs import Construct

from shop_infra import alarms, data, network, shop_app
from shop_infra.settings import STAGES, Options


class ShopStack(Stack):
    """The whole shop for one stage. The construct id must be the Chalice stage name."""

    def __init__(
        self,
        scope: Construct,
        stage: str,
        *,
        source_dir: Path,
        env: Environment,
        options: Options,
    ) -> None:
        super().__init__(
            scope,
            stage,
            env=env,
            stack_name=f"jiadian-shop-{stage}",
            description=f"家电之选 shop backend, {stage} stage (infra/, chalice.cdk)",
        )
        size = STAGES[stage]
        self.options = options
        self.network = network.build(self, size, options)
        self.data = data.build(self, self.network, size, options)
        self.app = shop_app.build(self, stage, source_dir, self.network, self.data, size, options)
        self.alarm_topic = alarms.build(self, self.app, self.data, options)
        # What the operator needs after a deploy (docs/DEPLOY.md); chalice adds EndpointURL.
        for name, value in {
            "AlipayKeysSecretArn": self.data.alipay_secret.secret_arn,
            "DatabaseSecretArn": self.data.db_secret.secret_arn,
            "DbProxyEndpoint": self.data.proxy.endpoint,
            "RedisEndpoint": self.data.redis.attr_primary_end_point_address,
            "RedisAuthSecretArn": self.data.redis_secret.secret_arn,
            "JwtSecretArn": self.data.jwt_secret.secret_arn,
            "MailQueueUrl": self.data.mail_queue.queue_url,
            "LambdaSecurityGroupId": self.network.lambda_sg.security_group_id,
            "AppSubnetIds": ",".join(
                self.network.vpc.select_subnets(subnet_group_name="app").subnet_ids
            ),
            "AlarmTopicArn": self.alarm_topic.topic_arn,
        }.items():
            CfnOutput(self, name, value=value)
        # The proxy's target group takes no tags (CloudFormation rejects them).
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("app", "jiadian-shop", exclude_resource_types=untaggable)
        Tags.of(self).add("stage", stage, exclude_resource_types=untaggable)
