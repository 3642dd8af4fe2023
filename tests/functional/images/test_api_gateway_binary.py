"""Uploads as API Gateway delivers them: multipart/form-data is a binary type, so the
body arrives base64-encoded (isBase64Encoded) and must reach the parser intact."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.functional.images.conftest import Media
from tests.functional.images.forms import multipart, noise_png


def test_multipart_form_data_is_one_of_the_apis_binary_types() -> None:
    from app import app

    assert "multipart/form-data" in app.api.binary_types


def proxy_event(method: str, path: str, resource: str, headers: dict[str, str], body: bytes) -> Any:
    """A REST API proxy integration event as API Gateway sends it for a binary type."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": "/api" + path,
            "stage": "api",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def test_a_base64_encoded_multipart_body_is_parsed_intact(
    database_url: str, media: Media, make_user: Any, token_for: Any
) -> None:
    from chalice.local import LambdaContext

    from app import app

    user = make_user()
    # Noise pixels compress to no pattern: every byte value, as binary as a body gets, and a
    # lossy text decoding would break the image. (Pillow writes it again byte for byte.)
    png = noise_png()
    body, content_type = multipart({"avatar": ("me.png", png, "image/png")})
    event = proxy_event(
        "PUT",
        "/user/avatar",
        "/user/avatar",
        {"Content-Type": content_type, "Authorization": f"Bearer {token_for(user)}"},
        body,
    )

    response = app(event, LambdaContext("jiadian-shop", memory_size=1024))

    assert response["statusCode"] == 200, response
    url = json.loads(response["body"])["avatar"]
    assert media.files() == {media.file_id(url): png}
