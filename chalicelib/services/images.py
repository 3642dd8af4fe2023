"""Images: SKU images and avatars, and the rules that keep rows and stored files consistent.

- A row never points to a file that was not stored: the file is stored first, before
  the unit's first statement (on MySQL no lock is held during an upload; the local
  SQLite twin holds its write lock from BEGIN IMMEDIATE), then the row is written.
- A file stored for a transaction that then fails (an error, a rollback, a commit that
  does not go through) is deleted again. Its id is known before any of its bytes are
  sent (storage `reserve`, then `write`): an upload abandoned at the deadline, which a
  stalled storage server may still complete later, is deleted (or queued) like any
  other file of a failed unit, never left unreferenced.
- A file is deleted from storage only after the commit that removed the last row
  pointing to it (purge, replace), so a rollback can never leave a row pointing at a
  deleted file. That same transaction queues the deletion in pending_file_deletions:
  a file that cannot be deleted right after the commit (storage down) is not
  forgotten, retry_file_deletions (a scheduled job) deletes it later. An entry leaves
  the queue only when the storage server confirmed the deletion or that the file is
  gone; every failed attempt is counted with its error (`manage.py file-deletions`).
- Hiding an image keeps its file: the image can still be purged later.
- A SKU's default image (lists, cart, home page) is one of its visible images: its
  first image becomes it, and hiding, purging, moving or replacing that image moves
  the default along.

Storage calls follow the unit of work the entry point opened: a new file is stored
before the unit's first statement (no lock is held during an upload) and discarded by
an after-rollback hook; released files and the cached home page are dealt with by
after-commit hooks.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, literal, select, update
from sqlalchemy.exc import SQLAlchemyError

from chalicelib.adapters.storage import Storage, StorageUnavailable
from chalicelib.clock import utcnow
from chalicelib.db.engine import UnitOfWork, after_commit, after_rollback, insert_id
from chalicelib.db.tables import banners, brands, pending_file_deletions, sku_images, skus, users
from chalicelib.errors import NotFound, ValidationError
from chalicelib.pagination import Listing, PageRequest, listing, page_of
from chalicelib.services.catalog import home_changes

if TYPE_CHECKING:
    from redis import Redis

    from chalicelib.uploads import ImageUpload

log = logging.getLogger("shop.images")

RETRY_BATCH = 200
# A deletion is queued, with the file id it deletes, as (queue row id, file id).
Pending = tuple[int, str]


@dataclass(frozen=True)
class SkuImage:
    id: int
    sku_id: int
    file_id: str


# --- files around a unit of work -------------------------------------------------------


def _store(conn: Connection, storage: Storage, image: ImageUpload) -> str:
    """Store the image under a generated name, to be deleted again if the unit fails.

    Called before the unit's first statement: on MySQL no lock is held yet. The file is
    reserved (its id known) before its bytes are sent, so a write that fails or times out
    leaves a file this unit's rollback deletes, not one nobody knows of.
    """
    file_id = storage.reserve(image.ext)
    after_rollback(conn, partial(_discard, storage, file_id))
    storage.write(file_id, image.data)
    return file_id


def _discard(storage: Storage, file_id: str, begin: UnitOfWork) -> None:
    """Delete a file no committed row points to; queue it if storage is down right now."""
    try:
        storage.delete(file_id)
        return
    except (StorageUnavailable, OSError) as exc:
        log.warning("could not delete unused file %s now (%s); queued", file_id, exc)
        error = _describe(exc)
    try:
        with begin() as conn:
            _queue_deletion(conn, file_id, failed=error)
    except SQLAlchemyError:
        log.error("file %s is stored but unused and could not be queued for deletion", file_id)


def _queue_deletion(conn: Connection, file_id: str, failed: str | None = None) -> Pending:
    """Queue the file's deletion; `failed`: a first attempt already failed with this error."""
    now = utcnow()
    attempt = (
        {} if failed is None else {"attempts": 1, "last_error": failed, "last_attempt_time": now}
    )
    result = conn.execute(
        insert(pending_file_deletions).values(file_id=file_id, create_time=now, **attempt)
    )
    return insert_id(result), file_id


def _record_failure(conn: Connection, pending_id: int, exc: BaseException) -> None:
    """Count a failed attempt on the queue entry and keep why it failed."""
    conn.execute(
        update(pending_file_deletions)
        .where(pending_file_deletions.c.id == pending_id)
        .values(
            attempts=pending_file_deletions.c.attempts + 1,
            last_error=_describe(exc),
            last_attempt_time=utcnow(),
        )
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:255]


def _release(
    conn: Connection,
    storage: Storage,
    file_id: str | None,
    still_used: Callable[[Connection, str], bool],
) -> None:
    """The rows written in this unit no longer point to this file: unless another row
    still does, queue its deletion now and delete it once the unit has committed."""
    if not file_id or still_used(conn, file_id):
        return
    after_commit(conn, partial(_delete_released, storage, _queue_deletion(conn, file_id)))


def _delete_released(storage: Storage, pending: Pending, begin: UnitOfWork) -> None:
    """After the commit: delete the released file and its queue entry. On failure the entry
    stays for retry_file_deletions; the change itself is done, so nothing is raised."""
    pending_id, file_id = pending
    try:
        storage.delete(file_id)
    except (StorageUnavailable, OSError) as exc:
        log.warning("deleting released file %s failed (%s); the retry job will", file_id, exc)
        try:
            with begin() as conn:
                _record_failure(conn, pending_id, exc)
        except SQLAlchemyError as db_exc:
            log.warning("could not record the failed deletion of %s (%s)", file_id, db_exc)
        return
    try:
        with begin() as conn:
            conn.execute(
                delete(pending_file_deletions).where(pending_file_deletions.c.id == pending_id)
            )
    except SQLAlchemyError as exc:  # deleted; the job will find it gone and drop the entry
        log.warning("file %s deleted but its queue entry stays (%s)", file_id, exc)


def store_upload(conn: Connection, storage: Storage, image: ImageUpload) -> str:
    """Store an uploaded catalogue image (a brand logo) for this unit, as SKU images are:
    before the unit's first statement, and deleted again if the unit fails."""
    return _store(conn, storage, image)


def release_catalogue_file(conn: Connection, storage: Storage, file_id: str | None) -> None:
    """No row written in this unit points to this catalogue file any more: delete it after
    the commit unless another row still does (as a replaced SKU image's file)."""
    _release(conn, storage, file_id, _catalogue_uses)


def _catalogue_uses(conn: Connection, file_id: str) -> bool:
    """Does any SKU image (hidden ones too), SKU default image, banner or brand logo
    (deleted brands too) point to the file?"""
    for column in (sku_images.c.image, skus.c.default_image, banners.c.image, brands.c.logo):
        if conn.execute(select(literal(1)).where(column == file_id).limit(1)).first():
            return True
    return False


def _avatar_uses(conn: Connection, file_id: str) -> bool:
    found = conn.execute(select(literal(1)).where(users.c.avatar == file_id).limit(1)).first()
    return found is not None


def retry_file_deletions(begin: UnitOfWork, storage: Storage) -> str:
    """Scheduled job: delete the queued files that could not be deleted after their commit.

    Stops at the first storage failure (it is down: next run). Entries never tried come
    first, then the one tried longest ago: an entry that keeps failing (a group the
    tracker does not know also answers "no storage") goes to the back of the queue
    instead of blocking it. A file that a row points to again is never deleted, only
    dropped from the queue. One unit per file.
    """
    table = pending_file_deletions
    with begin() as conn:
        queued = conn.execute(
            select(table.c.id, table.c.file_id)
            .order_by(table.c.last_attempt_time.is_not(None), table.c.last_attempt_time, table.c.id)
            .limit(RETRY_BATCH)
        ).all()
    deleted = kept = 0
    for pending_id, file_id in queued:
        entry = pending_file_deletions.c.id == pending_id
        with begin() as conn:
            if _catalogue_uses(conn, file_id) or _avatar_uses(conn, file_id):
                conn.execute(delete(pending_file_deletions).where(entry))
                kept += 1
                continue
        try:
            storage.delete(file_id)  # returns only when confirmed, or the file is known gone
        except (StorageUnavailable, OSError) as exc:
            with begin() as conn:
                _record_failure(conn, pending_id, exc)
            return f"deleted {deleted}, still used {kept}; storage failed: {exc}"
        with begin() as conn:
            conn.execute(delete(pending_file_deletions).where(entry))
        deleted += 1
    return f"deleted {deleted}, still used {kept}"


@dataclass(frozen=True)
class QueuedDeletion:
    id: int
    file_id: str
    attempts: int
    create_time: datetime
    last_attempt_time: datetime | None
    last_error: str | None


def forget_deletion(conn: Connection, pending_id: int) -> str | None:
    """Drop a queue entry without deleting its file (an operator's decision: the file is
    known gone, or its group no longer exists); the file id it had, None if no such entry."""
    table = pending_file_deletions
    file_id = conn.execute(
        select(table.c.file_id).where(table.c.id == pending_id).with_for_update()
    ).scalar()
    if file_id is not None:
        conn.execute(delete(table).where(table.c.id == pending_id))
    return file_id


def queued_deletions(
    conn: Connection, limit: int = RETRY_BATCH
) -> tuple[list[QueuedDeletion], int]:
    """The file deletions still queued, oldest first (at most `limit`), and how many there are."""
    table = pending_file_deletions
    total = conn.execute(select(func.count()).select_from(table)).scalar_one()
    rows = conn.execute(
        select(
            table.c.id,
            table.c.file_id,
            table.c.attempts,
            table.c.create_time,
            table.c.last_attempt_time,
            table.c.last_error,
        )
        .order_by(table.c.id)
        .limit(limit)
    ).all()
    return [QueuedDeletion(*row) for row in rows], int(total)


# --- avatars --------------------------------------------------------------------------


def replace_avatar(conn: Connection, storage: Storage, *, user_id: int, image: ImageUpload) -> str:
    """Store the new avatar, point the user at it; the old one's file goes after the commit."""
    file_id = _store(conn, storage, image)
    old = conn.execute(
        select(users.c.avatar).where(users.c.id == user_id).with_for_update()
    ).first()
    if old is None:
        raise NotFound("No such user.")
    conn.execute(update(users).where(users.c.id == user_id).values(avatar=file_id))
    _release(conn, storage, old.avatar, _avatar_uses)
    return file_id


# --- SKU images -----------------------------------------------------------------------


def page_sku_images(conn: Connection, page: PageRequest) -> tuple[list[SkuImage], int]:
    """Visible images, oldest first."""
    rows, count = page_of(conn, _sku_images_listing(), page)
    return [SkuImage(row.id, row.sku_id, row.image) for row in rows], count


@functools.cache
def _sku_images_listing() -> Listing:
    visible = sku_images.c.is_hidden.is_(False)
    return listing(
        select(sku_images.c.id, sku_images.c.sku_id, sku_images.c.image)
        .where(visible)
        .order_by(sku_images.c.id),
        counted=select(func.count()).select_from(sku_images).where(visible),
    )


def get_sku_image(conn: Connection, image_id: int) -> SkuImage:
    return _sku_image(conn, image_id, include_hidden=False, lock=False)


def add_sku_image(
    conn: Connection, storage: Storage, redis: Redis, *, sku_id: int, image: ImageUpload
) -> SkuImage:
    """Store the image, then add it to the SKU; a SKU without a default image gets this one."""
    file_id = _store(conn, storage, image)
    _check_sku(conn, sku_id)
    result = conn.execute(
        insert(sku_images).values(sku_id=sku_id, image=file_id, create_time=utcnow())
    )
    _set_default(conn, sku_id, current=None, new=file_id)
    home_changes(conn, redis)
    return SkuImage(insert_id(result), sku_id, file_id)


def change_sku_image(
    conn: Connection,
    storage: Storage,
    redis: Redis,
    image_id: int,
    *,
    sku_id: int | None = None,
    image: ImageUpload | None = None,
) -> SkuImage:
    """Replace the image's file and/or move it to another SKU; the old file is deleted
    after the commit. Defaults follow: a replaced default is replaced, a moved default
    passes to the old SKU's next image, and a SKU without one gets the moved image."""
    new_file = _store(conn, storage, image) if image is not None else None
    current = _sku_image(conn, image_id, include_hidden=False, lock=True)
    target_sku = current.sku_id if sku_id is None else sku_id
    if target_sku != current.sku_id:
        _check_sku(conn, target_sku)
    changed = SkuImage(image_id, target_sku, new_file or current.file_id)
    conn.execute(
        update(sku_images)
        .where(sku_images.c.id == image_id)
        .values(sku_id=changed.sku_id, image=changed.file_id)
    )
    if changed.sku_id != current.sku_id:
        _set_default(conn, current.sku_id, current.file_id, _next_default(conn, current.sku_id))
        _set_default(conn, changed.sku_id, current=None, new=changed.file_id)
    elif new_file:
        _set_default(conn, current.sku_id, current.file_id, new_file)
    if new_file:
        _release(conn, storage, current.file_id, _catalogue_uses)
    home_changes(conn, redis)
    return changed


def remove_sku_image(
    conn: Connection, storage: Storage, redis: Redis, image_id: int, *, purge: bool
) -> None:
    """Hide the image (its file is kept), or purge it: the row goes, and the file is
    deleted after the commit. A hidden image can still be purged."""
    found = _sku_image(conn, image_id, include_hidden=purge, lock=True)
    row = sku_images.c.id == image_id
    if purge:
        conn.execute(delete(sku_images).where(row))
    else:
        conn.execute(update(sku_images).where(row).values(is_hidden=True))
    _set_default(conn, found.sku_id, found.file_id, _next_default(conn, found.sku_id))
    if purge:  # after the default moved away, or the file would still count as used
        _release(conn, storage, found.file_id, _catalogue_uses)
    home_changes(conn, redis)


def _sku_image(conn: Connection, image_id: int, *, include_hidden: bool, lock: bool) -> SkuImage:
    query: Any = select(sku_images.c.id, sku_images.c.sku_id, sku_images.c.image).where(
        sku_images.c.id == image_id
    )
    if not include_hidden:
        query = query.where(sku_images.c.is_hidden.is_(False))
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("No such image.")
    return SkuImage(row.id, row.sku_id, row.image)


def _check_sku(conn: Connection, sku_id: int) -> None:
    if conn.execute(select(skus.c.id).where(skus.c.id == sku_id)).first() is None:
        raise ValidationError(f"No SKU has the id {sku_id}.", field="sku")


def _next_default(conn: Connection, sku_id: int) -> str | None:
    """The file of the SKU's oldest visible image, if it has one."""
    return conn.execute(
        select(sku_images.c.image)
        .where(sku_images.c.sku_id == sku_id, sku_images.c.is_hidden.is_(False))
        .order_by(sku_images.c.id)
        .limit(1)
    ).scalar()


def _set_default(conn: Connection, sku_id: int, current: str | None, new: str | None) -> None:
    """Change the SKU's default image only if it is still `current` (None: has none)."""
    if current == new:
        return
    is_current = (
        skus.c.default_image.is_(None) if current is None else skus.c.default_image == current
    )
    conn.execute(
        update(skus)
        .where(skus.c.id == sku_id, is_current)
        .values(default_image=new, update_time=utcnow())
    )
