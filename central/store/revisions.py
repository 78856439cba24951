"""Queries of the hall configuration revisions (table `config_revisions`, central.configedit)."""

from __future__ import annotations

import peewee as pw


class VersionTaken(Exception):
    """Another writer stored this version of the hall first (unique (hall, version))."""


def newest(store, hall: str, n: int) -> list:
    R = store.Revision
    return list(R.select().where(R.hall == hall).order_by(R.version.desc()).limit(n))


def max_version(store, hall: str) -> int | None:
    R = store.Revision
    return R.select(pw.fn.MAX(R.version)).where(R.hall == hall).scalar()


def listing(store, hall: str | None, limit: int) -> list[dict]:
    """The newest revisions (of one hall, or of all), without their configurations."""
    R = store.Revision
    q = R.select(R.id, R.hall, R.version, R.who, R.at, R.comment, R.summary)
    if hall:
        q = q.where(R.hall == hall)
    return [{"id": r.id, "hall": r.hall, "version": r.version, "who": r.who, "at": r.at, "comment": r.comment,
             "summary": r.summary} for r in q.order_by(R.at.desc(), R.id.desc()).limit(limit)]


def get(store, hall: str, version: int):
    R = store.Revision
    return R.get_or_none((R.hall == hall) & (R.version == version))


def add(store, **row) -> None:
    """Insert one revision (inside the caller's transaction); VersionTaken when the version exists."""
    try:
        store.Revision.insert(**row).execute()
    except pw.IntegrityError:
        raise VersionTaken(f"{row.get('hall')} version {row.get('version')}") from None
