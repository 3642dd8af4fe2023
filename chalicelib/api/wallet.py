"""The balance wallet: ledger records and recharges."""

from __future__ import annotations

from chalicelib.api.routing import ApiBlueprint

bp = ApiBlueprint(__name__)
