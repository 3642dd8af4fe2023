"""Admin orders under /meiduo_admin/orders/."""

from __future__ import annotations

from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")
