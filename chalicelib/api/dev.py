"""Local stage only: the media folder at /media/ (and the Alipay simulator pages).

app.py registers this blueprint only when SHOP_STAGE is local, so these routes do
not exist in a dev or prod deployment.
"""

from __future__ import annotations

import mimetypes

from chalice import Response

from chalicelib import resources
from chalicelib.api.routing import ApiBlueprint
from chalicelib.errors import NotFound

bp = ApiBlueprint(__name__)


@bp.route("/media/{directory}/{name}/", methods=["GET"])
def media_file(directory: str, name: str) -> Response:
    file_id = f"{directory}/{name}"
    try:
        data = resources.storage().read(file_id)
    except (FileNotFoundError, IsADirectoryError, ValueError):
        raise NotFound("No such file.") from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        body=data, headers={"Content-Type": content_type, "Cache-Control": "max-age=86400"}
    )
