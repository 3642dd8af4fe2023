"""Fixtures for the image tests: both storages, staff and multipart requests.

`media` is parametrized: every test that uses it runs on the local folder storage and
on FastDFS (py3Fdfs talking to the protocol-level fake server in tests/fakes/).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fastdfs_server import FakeFastDFS
from tests.functional.images.forms import FilePart, multipart

FOLDER_MEDIA_URL = "http://testserver/media/"
FASTDFS_MEDIA_URL = "http://img.test:8888/"
# Small enough to keep fault tests fast, large enough for a loaded 2-core machine.
TEST_DEADLINE_SECONDS = 0.5


@dataclass
class Media:
    """The storage a test runs on, seen from outside the app."""

    kind: str
    media_url: str
    folder: Path | None = None
    fake: FakeFastDFS | None = None

    def files(self) -> dict[str, bytes]:
        """Every stored file by file id (to check for orphans)."""
        if self.fake is not None:
            return dict(self.fake.files)
        assert self.folder is not None
        if not self.folder.exists():
            return {}
        return {
            str(path.relative_to(self.folder)): path.read_bytes()
            for path in self.folder.rglob("*")
            if path.is_file()
        }

    def file_id(self, url: str) -> str:
        assert url.startswith(self.media_url), url
        return url.removeprefix(self.media_url)

    def fetch(self, client: Any, url: str) -> bytes:
        """The bytes behind a public URL: through the app's /media/ route (folder), or a
        FastDFS download from the storage server (what FastDFS's nginx would serve)."""
        if self.fake is None:
            # As a browser's <img>: Chalice refuses a binary response without a matching Accept.
            response = client.http.get(
                url.removeprefix("http://testserver"),
                headers={"Accept": "image/avif,image/webp,*/*;q=0.8"},
            )
            assert response.status_code == 200, response.body
            return bytes(response.body)
        from chalicelib import resources

        return resources.storage().read(self.file_id(url))


@pytest.fixture(params=["folder", "fastdfs"])
def media(request: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Media]:
    # A new STORAGE_URL is a new cache key in resources.storage(): no reset needed.
    if request.param == "folder":
        folder = tmp_path / "media"
        monkeypatch.setenv("STORAGE_URL", f"file://{folder}")
        monkeypatch.setenv("MEDIA_URL", FOLDER_MEDIA_URL)
        yield Media("folder", FOLDER_MEDIA_URL, folder=folder)
        return
    with FakeFastDFS(slow_seconds=5.0) as fake:
        monkeypatch.setenv("STORAGE_URL", f"{fake.url}?timeout={TEST_DEADLINE_SECONDS}")
        monkeypatch.setenv("MEDIA_URL", FASTDFS_MEDIA_URL)
        yield Media("fastdfs", FASTDFS_MEDIA_URL, fake=fake)


@pytest.fixture
def fastdfs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Media]:
    """FastDFS only (fault modes are the fake server's)."""
    with FakeFastDFS(slow_seconds=5.0) as fake:
        monkeypatch.setenv("STORAGE_URL", f"{fake.url}?timeout={TEST_DEADLINE_SECONDS}")
        monkeypatch.setenv("MEDIA_URL", FASTDFS_MEDIA_URL)
        yield Media("fastdfs", FASTDFS_MEDIA_URL, fake=fake)


@pytest.fixture
def staff(make_user: Any, auth_headers: Any) -> dict[str, str]:
    """Authorization header of a staff user (no Content-Type: each request sets its own)."""
    headers = auth_headers(make_user(is_staff=True, is_superuser=True))
    return {"Authorization": headers["Authorization"]}


@pytest.fixture
def shopper(make_user: Any, auth_headers: Any) -> Any:
    """(user row, Authorization header) of an ordinary user."""
    user = make_user()
    return user, {"Authorization": auth_headers(user)["Authorization"]}


def send_form(
    client: Any,
    method: str,
    path: str,
    fields: dict[str, str | FilePart],
    headers: dict[str, str],
) -> Any:
    body, content_type = multipart(fields)
    return client.http.request(
        method, path, body=body, headers={**headers, "Content-Type": content_type}
    )


def sku_row(db: Any, sku_id: int) -> Any:
    from sqlalchemy import select

    from chalicelib.db.tables import skus

    with db.connect() as conn:
        return conn.execute(select(skus).where(skus.c.id == sku_id)).one()


def image_rows(db: Any) -> list[Any]:
    from sqlalchemy import select

    from chalicelib.db.tables import sku_images

    with db.connect() as conn:
        return list(conn.execute(select(sku_images).order_by(sku_images.c.id)).all())


def pending_deletions(db: Any) -> list[str]:
    from sqlalchemy import select

    from chalicelib.db.tables import pending_file_deletions as pending

    with db.connect() as conn:
        return list(conn.execute(select(pending.c.file_id).order_by(pending.c.id)).scalars())
