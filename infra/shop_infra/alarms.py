"""Alarms for what costs money when it breaks, all to one SNS topic."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from shop_infra.data import Data
from shop_infra.settings import Options
from shop_infra.shop_app import API_FUNCTION, API_STAGE, ShopApp

NOTIFY_REFUSED_PATTERN = "alipay notify refused"  # chalicelib/api/payments.py logs this
FIVE_MINUTES = Duration.minutes(5)


def build(scope: Stack, app: ShopApp, data: Data, options: Options) -> sns.Topic:
    topic = sns.Topic(scope, "AlarmTopic", display_name=f"{scope.stack_name} alarms")
    if options.alarm_email:
        topic.add_subscription(subscriptions.EmailSubscription(options.alarm_email))
    action = actions.SnsAction(topic)

    def alarm(id_: str, description: str, **props: object) -> cloudwatch.Alarm:
        made = cloudwatch.Alarm(
            scope,
            id_,
            alarm_description=description,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            **props,  # type: ignore[arg-type]
        )
        made.add_alarm_action(action)
        made.add_ok_action(action)
        return made

    # API Gateway 5xx rate: failed checkouts and payments. Below 20 requests in 5 minutes
    # one error is noise, not a rate.
    api_name = f"{scope.stack_name}-api"
    dims = {"ApiName": api_name, "Stage": API_STAGE}
    requests = cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name="Count",
        dimensions_map=dims,
        statistic="Sum",
        period=FIVE_MINUTES,
    )
    errors = cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name="5XXError",
        dimensions_map=dims,
        statistic="Sum",
        period=FIVE_MINUTES,
    )
    alarm(
        "Api5xxRate",
        "More than 2% of API requests answered 5xx (checkout and payment failures)",
        metric=cloudwatch.MathExpression(
            expression="IF(requests >= 20, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": errors},
            period=FIVE_MINUTES,
            label="5xx %",
        ),
        threshold=2,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    )

    # Lambda errors and throttles, per function. A job that fails (reconciliation, order
    # expiry) fails silently otherwise; a throttle means reserved concurrency is too small.
    for name, fn in app.functions.items():
        fn_dims = {"FunctionName": fn.ref}
        is_api = name == API_FUNCTION
        alarm(
            f"{name}Errors",
            f"{name}: unhandled errors or timeouts",
            metric=cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions_map=fn_dims,
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            threshold=5 if is_api else 1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        alarm(
            f"{name}Throttles",
            f"{name}: throttled (reserved concurrency exhausted)",
            metric=cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="Throttles",
                dimensions_map=fn_dims,
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )

    # Mail that failed five times: order confirmations and password resets not sent.
    alarm(
        "MailDlqNotEmpty",
        "Mail messages in the dead-letter queue",
        metric=data.mail_dlq.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=FIVE_MINUTES
        ),
        threshold=0,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    )

    # Refused Alipay notifies: a wrong key, app id or amount means paid orders stay unpaid.
    namespace = f"Shop/{scope.stack_name}"
    logs.MetricFilter(
        scope,
        "NotifyRefusedFilter",
        log_group=app.log_groups[API_FUNCTION],
        filter_pattern=logs.FilterPattern.literal(f'"{NOTIFY_REFUSED_PATTERN}"'),
        metric_namespace=namespace,
        metric_name="AlipayNotifyRefused",
        metric_value="1",
        default_value=0,
    )
    alarm(
        "AlipayNotifyRefused",
        "Alipay notifies refused (bad signature, app id, amount): payments not recorded",
        metric=cloudwatch.Metric(
            namespace=namespace,
            metric_name="AlipayNotifyRefused",
            statistic="Sum",
            period=FIVE_MINUTES,
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    )
    return topic
