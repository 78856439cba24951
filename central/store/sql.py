"""Small SQL helpers over the store's database for the raw-SQL tables (facts): placeholders,
chunked IN lists and bulk inserts (on PostgreSQL psycopg2's execute_values, or with the column
types given, one `INSERT … SELECT FROM unnest(arrays)`: the rows travel as one array per column,
which psycopg2 writes in C instead of formatting every row in Python)."""

from __future__ import annotations


def placeholders(store, values: list) -> str:
    return ", ".join([store.db.param] * len(values))


def chunks(values: list, n: int = 500):
    for i in range(0, len(values), n):
        yield values[i:i + n]


def insert_rows(store, table: str, cols: tuple[str, ...], rows: list[tuple], conflict: str = "",
                types: tuple[str, ...] | None = None) -> None:
    """Insert `rows` in their order. `types`: the columns' PostgreSQL types (unnest form)."""
    if not rows:
        return
    names = ", ".join(cols)
    if store.postgres and types:
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        store.db.cursor().execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS u({names}, i_)"
            f" ORDER BY i_ {conflict}", [list(c) for c in zip(*rows)])
        return
    if store.postgres:
        from psycopg2.extras import execute_values

        execute_values(store.db.cursor(), f"INSERT INTO {table} ({names}) VALUES %s {conflict}", rows, page_size=1000)
        return
    marks = placeholders(store, list(cols))
    store.db.cursor().executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", rows)
