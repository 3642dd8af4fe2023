"""The Redis cart of the logged-in user."""

from __future__ import annotations

from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__)
