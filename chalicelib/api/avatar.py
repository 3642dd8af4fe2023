"""PUT /user/avatar/: the user's avatar image (multipart field `avatar`)."""

from __future__ import annotations

from typing import Any

from chalicelib import auth, resources
from chalicelib.api.models import avatar as models
from chalicelib.api.routing import ApiBlueprint, validate
from chalicelib.resources import transaction
from chalicelib.services import images
from chalicelib.uploads import read_form

bp = ApiBlueprint(__name__)


@bp.route("/user/avatar/", methods=["PUT"], content_types=["multipart/form-data"])
@auth.login_required
def set_avatar(user: auth.CurrentUser) -> dict[str, Any]:
    form = validate(models.AvatarForm, read_form(bp.current_request))
    storage = resources.storage()
    with transaction() as conn:
        file_id = images.replace_avatar(conn, storage, user_id=user.id, image=form.avatar)
    return {"avatar": storage.url(file_id)}
