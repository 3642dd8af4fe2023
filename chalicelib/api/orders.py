"""Checkout and the buyer's orders: settlement, placing, cancelling, paying, receipt, comments."""

from __future__ import annotations

from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__)
