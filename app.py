"""The Chalice app: registers blueprints, middleware and jobs, nothing else."""

import gc

# Cold start: no cyclic garbage collection while the app is imported. The import leaves
# ~100,000 objects the collector tracks and frees almost nothing: the ~150 collections it
# triggered walked the freshly imported modules for nothing (~30 ms of a ~250 ms import).
# On Lambda, where the first request follows the import, it stays off through that
# request too (which imports redis-py, the MySQL driver, PyJWT: ~7 ms more). Then what
# was built is frozen (gc.freeze: later collections skip it, as it lives as long as the
# process) and collection is back on. docs/ARCHITECTURE.md, "Cold start".
_collecting = gc.isenabled()
gc.disable()

import os

from chalicelib import jobs, priming
from chalicelib.api import (
    accounts,
    addresses,
    avatar,
    cart,
    catalog,
    health,
    orders,
    payments,
    wallet,
)
from chalicelib.api.admin import auth as admin_auth
from chalicelib.api.admin import goods as admin_goods
from chalicelib.api.admin import images as admin_images
from chalicelib.api.admin import orders as admin_orders
from chalicelib.api.admin import payments as admin_payments
from chalicelib.api.admin import permissions as admin_permissions
from chalicelib.api.admin import skus as admin_skus
from chalicelib.api.admin import statistics as admin_statistics
from chalicelib.api.admin import users as admin_users
from chalicelib.api.middleware import api_middleware, register_preflight_routes
from chalicelib.api.routing import ShopApp
from chalicelib.observability.entry import http_middleware

app = ShopApp(app_name="jiadian-shop")
# Multipart uploads arrive base64-encoded only if API Gateway treats them as binary;
# without this entry it mangles them on AWS while local tests still pass.
app.api.binary_types.append("multipart/form-data")
app.register_middleware(api_middleware, "http")
# Inside api_middleware: one JSON log line and one X-Ray trace per request.
app.register_middleware(http_middleware, "http")

for module in (health, accounts, addresses, avatar, catalog, cart, orders, wallet, payments):
    app.register_blueprint(module.bp)
for module in (
    admin_auth,
    admin_skus,
    admin_goods,
    admin_images,
    admin_orders,
    admin_statistics,
    admin_users,
):
    app.register_blueprint(module.bp)
app.register_blueprint(admin_payments.bp)
app.register_blueprint(admin_permissions.bp)
if os.environ.get("SHOP_STAGE", "local") == "local":
    from chalicelib.api import dev

    app.register_blueprint(dev.bp)

register_preflight_routes(app)
# Scheduled jobs and the migrate function (Lambda imports them from chalicelib.jobs).
app.register_blueprint(jobs.bp)

# Provisioned concurrency: Lambda initializes this container ahead of traffic, so what a
# first request would do is done now instead (chalicelib/priming.py).
if priming.wanted():
    priming.prime()


def _collect_again() -> None:
    gc.freeze()
    if _collecting:
        gc.enable()


# Elsewhere (tests, chalice local, `chalice package` importing the app) a first request
# may never come: collection is back on at once.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    app.after_first_call = _collect_again
else:
    _collect_again()
