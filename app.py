"""The Chalice app: registers blueprints, middleware and jobs, nothing else."""

from chalicelib.api import accounts, addresses, health
from chalicelib.api.admin import auth as admin_auth
from chalicelib.api.middleware import api_middleware, register_preflight_routes
from chalicelib.api.routing import ShopApp

app = ShopApp(app_name="jiadian-shop")
# Multipart uploads arrive base64-encoded only if API Gateway treats them as binary;
# without this entry it mangles them on AWS while local tests still pass.
app.api.binary_types.append("multipart/form-data")
app.register_middleware(api_middleware, "http")

app.register_blueprint(health.bp)
app.register_blueprint(accounts.bp)
app.register_blueprint(addresses.bp)
app.register_blueprint(admin_auth.bp)

register_preflight_routes(app)
