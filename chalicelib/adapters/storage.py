"""Image storage: one small interface, the real FastDFS store and its local-folder twin.

A file id is a string such as `group1/M00/00/00/abc.jpg` (FastDFS) or `ab/<uuid>.jpg`
(folder). Public URLs are MEDIA_URL + file id.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Protocol

from chalicelib.config import ConfigError


class StorageUnavailable(RuntimeError):
    """The store could not be reached or did not answer in time (503 to clients)."""


class Storage(Protocol):
    def save(self, data: bytes, ext: str) -> str:
        """Store the bytes; return the new file id."""

    def delete(self, file_id: str) -> None:
        """Remove the file; a file that is already gone is not an error."""

    def read(self, file_id: str) -> bytes:
        """The file's bytes (FileNotFoundError when there is none)."""

    def url(self, file_id: str) -> str:
        """The public, absolute URL of the file."""

    def ping(self) -> None:
        """Raise StorageUnavailable when the store cannot be used."""


class FolderStorage:
    """Files in a local folder, served at /media/ by the local stage."""

    def __init__(self, root: Path, media_url: str) -> None:
        self.root = root
        self.media_url = media_url

    def save(self, data: bytes, ext: str) -> str:
        name = uuid.uuid4().hex
        file_id = f"{name[:2]}/{name}.{_clean_ext(ext)}"
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return file_id

    def delete(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(file_id).unlink()

    def read(self, file_id: str) -> bytes:
        return self._path(file_id).read_bytes()

    def url(self, file_id: str) -> str:
        return self.media_url + file_id

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"media folder {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"media folder {self.root} is not writable")

    def _path(self, file_id: str) -> Path:
        path = (self.root / file_id).resolve()
        if self.root.resolve() not in path.parents:
            raise FileNotFoundError(file_id)  # "../" and absolute ids never leave the folder
        return path


def _clean_ext(ext: str) -> str:
    ext = ext.lower().lstrip(".")
    if not ext.isalnum() or len(ext) > 6:
        raise ValueError(f"bad file extension {ext!r}")
    return ext


def storage_from_url(storage_url: str, media_url: str) -> Storage:
    if storage_url.startswith("file://"):
        return FolderStorage(Path(storage_url.removeprefix("file://")), media_url)
    raise ConfigError(
        f"STORAGE_URL must be file://<folder> or fastdfs://host:port, got {storage_url!r}"
    )
