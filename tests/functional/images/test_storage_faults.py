"""FastDFS failing in every way the fake server can: 503, nothing half-written, no hang.

The storage deadline is TEST_DEADLINE_SECONDS (STORAGE_URL ?timeout=); the fake's slow
replies take 5 s, so a call that waited for them would take 5 s. The outages a real
FastDFS showed (tests/fakes/fastdfs_server.py): the storage server stopped (the tracker
answers status 2), the tracker restarted (status 2 although the storage runs), the
storage server hung (still ACTIVE at the tracker; it carries out what it received when
it wakes up).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.fakes.fastdfs_server import (
    ACTIVE_TEST,
    STORAGE_APPEND,
    STORAGE_DELETE,
    STORAGE_DOWNLOAD,
    STORAGE_UPLOAD_APPENDER,
    TRACKER_QUERY_FETCH,
    TRACKER_QUERY_STORE,
    TRACKER_QUERY_UPDATE,
)
from tests.functional.images.conftest import (
    TEST_DEADLINE_SECONDS,
    Media,
    image_rows,
    pending_deletions,
    send_form,
    sku_row,
)
from tests.functional.images.forms import image_bytes

IMAGES = "/meiduo_admin/skus/images/"
# Generous: the deadline plus thread and test-client overhead on a busy machine.
WELL_WITHIN = TEST_DEADLINE_SECONDS + 1.5

FAULTS = [
    ("error_status", TRACKER_QUERY_STORE),
    ("error_status", ACTIVE_TEST),
    ("error_status", STORAGE_UPLOAD_APPENDER),
    ("error_status", STORAGE_APPEND),
    ("close_mid_reply", TRACKER_QUERY_STORE),
    ("close_mid_reply", STORAGE_UPLOAD_APPENDER),
    ("close_mid_reply", STORAGE_APPEND),
    ("slow", TRACKER_QUERY_STORE),
    ("slow", STORAGE_UPLOAD_APPENDER),
    ("slow", STORAGE_APPEND),
    ("freeze", STORAGE_APPEND),  # completes when thawed, after the client gave up
]
REFUSALS = ["tracker", "storage"]
OUTAGES = ["storage_down", "tracker_restarted", "hang"]  # as a real FastDFS showed them


def break_storage(fake: Any, fault: Any) -> None:
    if fault in OUTAGES:
        getattr(fake, fault)()
    elif isinstance(fault, str):
        fake.refuse(fault)
    else:
        fake.fail(*fault)


def fault_id(fault: Any) -> str:
    if fault in OUTAGES:
        return fault
    return f"refuse-{fault}" if isinstance(fault, str) else f"{fault[0]}-{fault[1]}"


ALL_FAULTS = OUTAGES + REFUSALS + FAULTS


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert json.loads(response.body)["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=fault_id)
def test_an_image_upload_is_503_with_no_row_and_no_file(
    client: Any, fastdfs: Media, staff: dict[str, str], make_sku: Any, db: Any, fault: Any
) -> None:
    sku_id = make_sku()
    break_storage(fastdfs.fake, fault)

    started = time.monotonic()
    response = send_form(
        client,
        "POST",
        IMAGES,
        {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")},
        staff,
    )
    elapsed = time.monotonic() - started

    assert_unavailable(response)
    assert elapsed < WELL_WITHIN
    assert image_rows(db) == []
    assert sku_row(db, sku_id).default_image is None
    assert fastdfs.files() == {}
    assert pending_deletions(db) == []

    fastdfs.fake.thaw()  # a frozen server carries out what it received: still nothing stored
    time.sleep(0.05)
    assert fastdfs.files() == {}


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=fault_id)
def test_an_avatar_upload_is_503_and_the_profile_is_unchanged(
    client: Any, fastdfs: Media, shopper: Any, fault: Any
) -> None:
    _user, headers = shopper
    break_storage(fastdfs.fake, fault)

    response = send_form(
        client,
        "PUT",
        "/user/avatar/",
        {"avatar": ("a.png", image_bytes("PNG"), "image/png")},
        headers,
    )

    assert_unavailable(response)
    assert json.loads(client.http.get("/user/", headers=headers).body)["avatar"] is None
    assert fastdfs.files() == {}


@pytest.mark.parametrize(
    "fault",
    [
        "tracker",
        "storage_down",
        "tracker_restarted",
        "hang",
        ("error_status", TRACKER_QUERY_FETCH),
        ("close_mid_reply", STORAGE_DOWNLOAD),
        ("slow", STORAGE_DOWNLOAD),
    ],
    ids=fault_id,
)
def test_a_download_fails_as_unavailable_within_the_deadline(fastdfs: Media, fault: Any) -> None:
    from chalicelib import resources
    from chalicelib.adapters.storage import StorageUnavailable

    storage = resources.storage()
    file_id = storage.save(image_bytes("PNG"), "png")
    break_storage(fastdfs.fake, fault)

    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        storage.read(file_id)

    assert time.monotonic() - started < WELL_WITHIN


@pytest.mark.parametrize(
    "fault",
    [
        "storage_down",
        "tracker_restarted",
        "hang",
        "storage",
        ("error_status", STORAGE_DELETE),
        ("close_mid_reply", TRACKER_QUERY_UPDATE),
        ("slow", STORAGE_DELETE),
    ],
    ids=fault_id,
)
def test_a_purge_while_storage_is_down_is_done_and_the_file_deleted_later(
    client: Any, fastdfs: Media, staff: dict[str, str], make_sku: Any, db: Any, fault: Any
) -> None:
    sku_id = make_sku()
    created = send_form(
        client,
        "POST",
        IMAGES,
        {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")},
        staff,
    )
    image = json.loads(created.body)
    file_id = fastdfs.file_id(image["image"])
    break_storage(fastdfs.fake, fault)

    response = client.http.delete(f"{IMAGES}{image['id']}/?purge=true", headers=staff)

    assert response.status_code == 204
    assert image_rows(db) == []
    assert sku_row(db, sku_id).default_image is None
    assert pending_deletions(db) == [file_id]
    assert attempts(db) == [(1, True)]
    if fault != "hang":  # a hung server deletes it when it wakes up
        assert set(fastdfs.files()) == {file_id}

    fastdfs.fake.heal()
    client.lambda_.invoke(
        "job_retry_file_deletions",
        client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        ),
    )

    assert fastdfs.files() == {}
    assert pending_deletions(db) == []


def attempts(db: Any) -> list[tuple[int, bool]]:
    """(attempts, has a last error) of each queued deletion."""
    from sqlalchemy import select

    from chalicelib.db.tables import pending_file_deletions as pending

    with db.connect() as conn:
        rows = conn.execute(
            select(pending.c.attempts, pending.c.last_error).order_by(pending.c.id)
        ).all()
    return [(count, bool(error)) for count, error in rows]


def test_a_deletion_stays_queued_while_the_tracker_lists_no_storage(
    client: Any, fastdfs: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    """Right after a tracker restart it answers status 2 to the delete look-up: the job
    must not take that for "already gone" (it did: the file stayed stored, unqueued)."""
    from chalicelib.jobs import run_now

    sku_id = make_sku()
    form = {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")}
    image = json.loads(send_form(client, "POST", IMAGES, form, staff).body)
    file_id = fastdfs.file_id(image["image"])
    fastdfs.fake.storage_down()
    assert (
        client.http.delete(f"{IMAGES}{image['id']}/?purge=true", headers=staff).status_code == 204
    )
    fastdfs.fake.heal()
    fastdfs.fake.tracker_restarted()

    outcome = run_now("retry-file-deletions")

    assert outcome.startswith("deleted 0, still used 0; storage failed")
    assert pending_deletions(db) == [file_id]
    assert attempts(db) == [(2, True)]
    assert set(fastdfs.files()) == {file_id}

    fastdfs.fake.heal()  # the storage server re-joined
    assert run_now("retry-file-deletions") == "deleted 1, still used 0"
    assert fastdfs.files() == {}
    assert pending_deletions(db) == []


def test_an_upload_a_stalled_storage_completes_later_is_removed_by_the_retry_job(
    client: Any, fastdfs: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    """The storage server stalls after the reservation, and deleting the reservation
    fails too: it is queued. The server wakes up and stores the bytes the client sent
    long ago: a file no row points to, which the job deletes. No orphan survives."""
    from chalicelib.jobs import run_now

    sku_id = make_sku()
    fastdfs.fake.fail("freeze", STORAGE_APPEND)
    fastdfs.fake.fail("error_status", STORAGE_DELETE)
    form = {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")}

    assert_unavailable(send_form(client, "POST", IMAGES, form, staff))
    reserved = pending_deletions(db)
    assert len(reserved) == 1 and attempts(db) == [(1, True)]
    assert image_rows(db) == []

    fastdfs.fake.thaw()  # the late append is carried out now
    deadline = time.monotonic() + 2
    while not fastdfs.files().get(reserved[0]):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert list(fastdfs.files()) == reserved  # an orphan: stored, no row points to it

    fastdfs.fake.heal()
    assert run_now("retry-file-deletions") == "deleted 1, still used 0"
    assert fastdfs.files() == {}
    assert pending_deletions(db) == []


def test_an_entry_that_keeps_failing_does_not_block_the_queue(
    client: Any, fastdfs: Media, db: Any
) -> None:
    """The tracker answers "no storage" for a group it does not know, forever: that entry
    goes to the back of the queue, and the files behind it are deleted on the next run."""
    from sqlalchemy import insert

    from chalicelib import resources
    from chalicelib.clock import utcnow
    from chalicelib.db.tables import pending_file_deletions as pending
    from chalicelib.jobs import run_now

    stored = resources.storage().save(image_bytes("PNG"), "png")
    with db.begin() as conn:
        for file_id in ("group9/M00/00/00/nowhere.png", stored):
            conn.execute(insert(pending).values(file_id=file_id, create_time=utcnow()))

    first = run_now("retry-file-deletions")
    second = run_now("retry-file-deletions")

    assert first.startswith("deleted 0, still used 0; storage failed")
    assert second.startswith("deleted 1, still used 0; storage failed")
    assert fastdfs.files() == {}
    assert pending_deletions(db) == ["group9/M00/00/00/nowhere.png"]
    assert attempts(db) == [(2, True)]


def test_a_file_that_cannot_be_deleted_after_a_failed_transaction_is_queued(
    client: Any, fastdfs: Media, staff: dict[str, str], db: Any
) -> None:
    """The upload works, the transaction fails (no such SKU), and deleting the new file
    fails too: it is queued, and the job deletes it once storage is back."""
    fastdfs.fake.fail("error_status", STORAGE_DELETE)

    response = send_form(
        client,
        "POST",
        IMAGES,
        {"sku": "31337", "image": ("a.png", image_bytes("PNG"), "image/png")},
        staff,
    )

    assert response.status_code == 400
    assert image_rows(db) == []
    assert pending_deletions(db) == list(fastdfs.files())
    assert len(fastdfs.files()) == 1

    fastdfs.fake.heal()
    from chalicelib.jobs import run_now

    assert run_now("retry-file-deletions") == "deleted 1, still used 0"
    assert fastdfs.files() == {}
    assert pending_deletions(db) == []


def test_the_retry_job_stops_at_a_storage_failure_and_counts_the_attempt(
    client: Any, fastdfs: Media, db: Any
) -> None:
    from sqlalchemy import insert

    from chalicelib import resources
    from chalicelib.clock import utcnow
    from chalicelib.db.tables import pending_file_deletions as pending
    from chalicelib.jobs import run_now

    stored = [resources.storage().save(image_bytes("PNG"), "png") for _ in range(2)]
    with db.begin() as conn:
        for file_id in stored:
            conn.execute(insert(pending).values(file_id=file_id, create_time=utcnow()))
    fastdfs.fake.refuse("storage")

    outcome = run_now("retry-file-deletions")

    assert outcome.startswith("deleted 0, still used 0; storage failed")
    assert attempts(db) == [(1, True), (0, False)]
    assert set(fastdfs.files()) == set(stored)


def test_storage_answering_again_after_a_fault_works_normally(
    client: Any, fastdfs: Media, staff: dict[str, str], make_sku: Any
) -> None:
    sku_id = make_sku()
    fastdfs.fake.fail("close_mid_reply")
    form = {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")}
    assert send_form(client, "POST", IMAGES, form, staff).status_code == 503

    fastdfs.fake.heal()
    response = send_form(client, "POST", IMAGES, form, staff)

    assert response.status_code == 201
    assert len(fastdfs.files()) == 1


@pytest.mark.parametrize(
    "fault",
    [("close_mid_reply", TRACKER_QUERY_STORE), "storage_down", "tracker_restarted", "hang"],
    ids=fault_id,
)
def test_health_reports_fastdfs_within_the_deadline(
    client: Any, fastdfs: Media, fault: Any
) -> None:
    """A hung storage server is still ACTIVE at the tracker: health tests it directly."""
    healthy = client.http.get("/health/")
    break_storage(fastdfs.fake, fault)
    started = time.monotonic()
    down = client.http.get("/health/")
    elapsed = time.monotonic() - started
    fastdfs.fake.heal()
    again = client.http.get("/health/")

    assert healthy.status_code == 200
    assert json.loads(healthy.body)["storage"] == "ok"
    assert down.status_code == 503
    assert json.loads(down.body)["storage"] == "unavailable"
    assert elapsed < WELL_WITHIN
    assert again.status_code == 200
