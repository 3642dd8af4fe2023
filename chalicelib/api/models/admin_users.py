"""Request models of api/admin/users.py."""

from __future__ import annotations

from pydantic import Field

from chalicelib.api.fields import Email, Mobile, PageQuery, Password, RequestModel, Username


class UsersQuery(PageQuery):
    # Part of a username, which is at most 20 characters.
    keyword: str = Field("", max_length=20)


class NewUser(RequestModel):
    """As a sign-up, except that staff must give the mobile number (meiduo admin's form)."""

    username: Username
    mobile: Mobile
    password: Password
    email: Email = ""
