"""STORAGE_URL for FastDFS: trackers and the per-call deadline."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.adapters.storage import (
    DEFAULT_FASTDFS_TIMEOUT_SECONDS,
    FastdfsSettings,
    FastdfsStorage,
    FolderStorage,
    parse_fastdfs_url,
    storage_from_url,
)
from chalicelib.config import ConfigError


def test_one_or_more_trackers_with_the_default_deadline() -> None:
    assert parse_fastdfs_url("fastdfs://10.0.1.5:22122") == FastdfsSettings(
        (("10.0.1.5", 22122),), DEFAULT_FASTDFS_TIMEOUT_SECONDS
    )
    assert parse_fastdfs_url("fastdfs://t1.internal:22122,t2.internal:22123/?timeout=2.5") == (
        FastdfsSettings((("t1.internal", 22122), ("t2.internal", 22123)), 2.5)
    )


@pytest.mark.parametrize(
    "url",
    [
        "fastdfs://",
        "fastdfs://tracker",
        "fastdfs://tracker:port",
        "fastdfs://tracker:0",
        "fastdfs://tracker:70000",
        "fastdfs://t1:22122,",
        "fastdfs://t1:22122?timeout=0",
        "fastdfs://t1:22122?timeout=30",
        "fastdfs://t1:22122?timeout=soon",
        "fastdfs://t1:22122?group=group1",
    ],
)
def test_a_bad_fastdfs_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="STORAGE_URL"):
        parse_fastdfs_url(url)


def test_storage_from_url_builds_either_store(tmp_path: Path) -> None:
    folder = storage_from_url(f"file://{tmp_path}", "http://127.0.0.1:8000/media/")
    fastdfs = storage_from_url("fastdfs://10.0.1.5:22122?timeout=3", "https://img.example.com/")

    assert isinstance(folder, FolderStorage)
    assert isinstance(fastdfs, FastdfsStorage)
    assert fastdfs.trackers == (("10.0.1.5", 22122),) and fastdfs.timeout == 3
    assert fastdfs.url("group1/M00/00/00/a.jpg") == "https://img.example.com/group1/M00/00/00/a.jpg"
    with pytest.raises(ConfigError):
        storage_from_url("s3://bucket", "https://img.example.com/")


def test_building_the_fastdfs_store_imports_no_client() -> None:
    """fdfs_client is imported at the first call, not when the store is built."""
    import subprocess
    import sys

    code = (
        "import sys; from chalicelib.adapters.storage import storage_from_url;"
        "storage_from_url('fastdfs://127.0.0.1:22122', 'http://x/');"
        "assert 'fdfs_client' not in sys.modules and 'multipart' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
