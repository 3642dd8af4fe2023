"""Storefront catalogue: categories, home, SKU lists and detail, comments, search, history."""

from __future__ import annotations

from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__)
