"""CDK entry point: `python cdk_app.py` (make synth) or `cdk synth|deploy` (cdk.json).

Not named app.py: chalice imports the Chalice app as the module `app`.

Synthesizes offline: no AWS credentials are read. The account and region come from
CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION when the cdk CLI sets them, else fixed values.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import aws_cdk as cdk  # noqa: E402

from shop_infra.settings import DEFAULT_REGION, OFFLINE_ACCOUNT, STAGES, Options  # noqa: E402
from shop_infra.stack import ShopStack  # noqa: E402


def build_app(
    source_dir: Path = REPO,
    stages: tuple[str, ...] = tuple(STAGES),
    outdir: Path | None = None,
    context: dict[str, str] | None = None,
) -> cdk.App:
    # chalice.cdk packages into ./chalice.out/<uuid>/ of the working directory, a fresh
    # 30 MB folder per synth: keep it under infra/ and empty it first.
    os.chdir(HERE)
    shutil.rmtree(HERE / "chalice.out", ignore_errors=True)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = HERE / "cdk.out"
    app = cdk.App(outdir=str(outdir) if outdir else None, context=context)
    region = os.environ.get("CDK_DEFAULT_REGION") or DEFAULT_REGION
    # chalice package reads the region from the environment
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT") or OFFLINE_ACCOUNT
    env = cdk.Environment(account=account, region=region)
    if account == OFFLINE_ACCOUNT:
        # The VPC checks its AZs against the account's, a lookup the cdk CLI makes with
        # credentials (and caches in cdk.context.json); offline, answer it here.
        app.node.set_context(
            f"availability-zones:account={account}:region={region}",
            [f"{region}{zone}" for zone in "abc"],
        )
    only = app.node.try_get_context("stage")
    for stage in stages:
        if only and stage != only:
            continue
        options = Options.from_context(app.node.try_get_context, stage=stage, region=region)
        ShopStack(app, stage, source_dir=source_dir, env=env, options=options)
    return app


if __name__ == "__main__":
    build_app().synth()
