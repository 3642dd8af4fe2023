"""Request models of api/wallet.py."""

from __future__ import annotations

from chalicelib.api.fields import PageQuery as PageQuery  # the records' query
from chalicelib.api.fields import RequestModel, Secret, Text100, Yuan


class Recharge(RequestModel):
    amount: Yuan
    admin_username: Text100
    admin_password: Secret
