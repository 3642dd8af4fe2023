"""PUT /user/avatar/: the user's avatar image."""

from __future__ import annotations

from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__)
