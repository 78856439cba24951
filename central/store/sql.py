"""Small SQL helpers over the store's database for the raw-SQL tables (facts): placeholders,
chunked IN lists and bulk inserts (psycopg2's execute_values on PostgreSQL)."""

from __future__ import annotations


def placeholders(store, values: list) -> str:
    return ", ".join([store.db.param] * len(values))


def chunks(values: list, n: int = 500):
    for i in range(0, len(values), n):
        yield values[i:i + n]


def insert_rows(store, table: str, cols: tuple[str, ...], rows: list[tuple], conflict: str = "") -> None:
    if not rows:
        return
    names = ", ".join(cols)
    if store.postgres:
        from psycopg2.extras import execute_values

        execute_values(store.db.cursor(), f"INSERT INTO {table} ({names}) VALUES %s {conflict}", rows, page_size=1000)
        return
    marks = placeholders(store, list(cols))
    store.db.cursor().executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", rows)
