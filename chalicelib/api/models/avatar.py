"""Request models of api/avatar.py."""

from __future__ import annotations

from chalicelib.api.fields import Image, RequestModel


class AvatarForm(RequestModel):
    avatar: Image
