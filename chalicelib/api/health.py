"""GET /health/: can this deployment reach its database, Redis and storage?"""

from __future__ import annotations

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__)


@bp.route("/health/", methods=["GET"])
@auth.public
def health() -> Response:
    body = resources.health()
    return Response(body=body, status_code=200 if body["status"] == "ok" else 503)
