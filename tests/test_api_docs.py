"""The docs describe every route as it exists (issue 12, item 11): each route of the hall's app
has a row in docs/api.md and each route of central's in docs/central.md, and each row names a
route that exists (no stale docs).

The convention (written at the top of both documents): a table row whose first cell is the
method and the path in backticks, the path as the OpenAPI schema writes it (`{name}`, no type):

    | `GET /api/health` | anyone | … |

A path ending in `/*` stands for a mounted tree (`/static/*`, `/schema/*`). The routes come from
the app's OpenAPI schema (`app.openapi_schema`) and, for the pages the schema leaves out, from its
route table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`\s*\|", re.M)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def documented(doc: str) -> set[tuple[str, str]]:
    """(method, path) of every route row of a document."""
    return {(m, p) for m, p in ROW.findall((DOCS / doc).read_text(encoding="utf-8"))}


def plain(path: str) -> str:
    """A route table path as OpenAPI writes it: `{window_id:str}` → `{window_id}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def schema_routes(app) -> set[tuple[str, str]]:
    out = set()
    for path, item in (app.openapi_schema.paths or {}).items():
        for m in METHODS:
            if getattr(item, m.lower(), None) is not None:
                out.add((m, path))
    return out


def table_routes(app) -> set[tuple[str, str]]:
    return {(m, plain(r.path)) for r in app.routes for m in getattr(r, "methods", ()) if m in METHODS}


def covered(route: tuple[str, str], rows: set[tuple[str, str]]) -> bool:
    m, p = route
    return (m, p) in rows or any(m == dm and dp.endswith("/*") and (p + "/").startswith(dp[:-1])
                                 for dm, dp in rows)


def check(app, doc: str) -> None:
    rows = documented(doc)
    assert rows, f"no route rows in docs/{doc}"
    in_schema = schema_routes(app)
    in_table = table_routes(app)
    assert in_schema <= in_table, "the schema names routes the app does not have?"
    missing = sorted(r for r in in_table if not covered(r, rows))
    assert not missing, (f"routes of the app missing from docs/{doc} (add a row "
                         f"| `METHOD /path` | … | as the convention at its top says): {missing}")
    stale = sorted(r for r in rows if not any(covered(t, {r}) for t in in_table))
    assert not stale, f"rows of docs/{doc} naming routes the app does not have: {stale}"


def test_api_docs_every_hall_route_is_in_api_md(hall):
    from edge.app import create_app

    check(create_app(hall, simulate=True, tick_seconds=3600), "api.md")


def test_api_docs_every_central_route_is_in_central_md(tmp_path):
    from central.app import create_app
    from central.auth import Auth
    from central.store import CentralStore

    store = CentralStore(f"sqlite:///{tmp_path}/central.db")
    store.open()
    try:
        check(create_app(store, None, None, Auth([])), "central.md")
    finally:
        store.close()


def test_api_docs_rows_are_parsed():
    """The convention's parser sees a row and ignores prose mentioning a route."""
    text = "| `GET /api/health` | anyone |\nSee `GET /api/queue` in prose.\n| GET | `/api/x` |\n"
    assert ROW.findall(text) == [("GET", "/api/health")]
    assert covered(("GET", "/static/{file_path}"), {("GET", "/static/*")})
    assert not covered(("GET", "/staticx"), {("GET", "/static/*")})
