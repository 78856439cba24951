"""What the fact sources computed, kept between requests while the facts it came from are
unchanged (issue 16: warm yearly pages).

A yearly report merges a year of month roll-ups and folds every staff member's days; the
answer is the same until the refresher rewrites one of the months it read. `FactSource` asks
`FactCache.get(key, make)` with a key that holds everything the answer depends on:

- the **months' version**: the sum and number of the `fact_month_version` rows of the range's
  months and halls. `central.facts.refresh._write` adds one to the row of every (hall, month)
  it rebuilds, in the transaction that rewrites that month's facts, so any change of the facts
  a range reads (a day row or its month roll-up) changes the sum; it never goes down, so an old
  key is never met again;
- for what is also read from the events on request (leave, first days, window overrides, in
  attendance), the **events' version**: the sum of `hall_event_counts` (kept in every ingest
  transaction), so any stored event makes a new key;
- the method, its arguments (range, halls, department, the report's day, excluded ratings) and
  the `Directory` (a reloaded configuration is a new object; the entry keeps it and a hit must
  be the same object).

A key is read before the data: an answer computed meanwhile from newer facts is kept under the
older key, which no later request asks for once the newer version is committed — so a request
never gets figures older than the version it read, exactly as without the cache. Entries are
shared: the sources hand out copies of mutable parts. At most `MAX_ENTRIES` are kept (least
recently used dropped). Under live ingest the current month changes every few seconds, so a
range that holds today is recomputed (as fast as before); a past period stays cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

MAX_ENTRIES = 128  # a report of a range over several months keeps two parts per input (FactSource._split)


class FactCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, owner: Any, make: Callable[[], Any]) -> Any:
        """The value kept for `key` (made by `owner`, compared by identity), else `make()` kept."""
        with self._lock:
            got = self._entries.get(key)
            if got is not None and got[0] is owner:
                self._entries.move_to_end(key)
                self.hits += 1
                return got[1]
        value = make()
        with self._lock:
            self.misses += 1
            self._entries[key] = (owner, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value


_made = threading.Lock()


def cache_of(store) -> FactCache:
    """The store's cache (one per store object)."""
    c = getattr(store, "fact_cache", None)
    if c is None:
        with _made:
            c = getattr(store, "fact_cache", None)
            if c is None:
                c = store.fact_cache = FactCache()
    return c


def months_version(store, first_month: str, last_month: str, halls: list[str] | None) -> tuple[int, int]:
    """(sum, rows) of `fact_month_version` for the months first..last ("YYYY-MM") of `halls`."""
    p = store.db.param
    sql = f"SELECT COALESCE(SUM(n), 0), COUNT(*) FROM fact_month_version WHERE month >= {p} AND month <= {p}"
    args: list = [first_month, last_month]
    if halls is not None:
        sql += f" AND hall IN ({', '.join([p] * len(halls))})"
        args += list(halls)
    n, rows = store.db.execute_sql(sql, args).fetchone()
    return int(n), int(rows)


def events_version(store) -> int:
    """Events stored at central, all halls (`hall_event_counts`, kept at ingest)."""
    (n,) = store.db.execute_sql("SELECT COALESCE(SUM(events), 0) FROM hall_event_counts").fetchone()
    return int(n)
