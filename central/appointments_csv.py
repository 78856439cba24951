"""Bookings imported from a CSV file (the dashboard's upload, central.pages.appointments).

The file: UTF-8 (with or without BOM; GB18030 as Excel writes it in China is read too), a
header row naming the columns `hall`, `item`, `start` (YYYY-MM-DD HH:MM, the hall's local
time, or ISO with an offset), `phone`, and optionally `name`; one booking per row. Every row is
checked as a booking made on the page would be (slot, capacity, phone…), all in one
transaction: the first bad row refuses the whole file with its line number, and nothing is
imported.
"""

from __future__ import annotations

import csv
import io

from .appointments import AppointmentBook, Conflict
from .errors import BadRequest, Forbidden, NotFound
from .scope import Scope

REQUIRED = ("hall", "item", "start", "phone")
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise BadRequest(f"文件过大（{len(data)} 字节），最多 {MAX_BYTES} 字节")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadRequest("文件编码无法识别，请保存为 UTF-8 的 CSV")


def import_csv(book: AppointmentBook, data: bytes, *, who: str, scope: Scope) -> list[dict]:
    """Book every row of the file, or none; returns the bookings made."""
    reader = csv.DictReader(io.StringIO(decode(data), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadRequest(f"第 1 行：表头缺少列 {'、'.join(missing)}（须有 hall, item, start, phone，可选 name）")
    reader.fieldnames = header
    made: list[dict] = []
    with book.store.db.atomic():
        for row in reader:
            line = reader.line_num
            if len(made) >= MAX_ROWS:
                raise BadRequest(f"第 {line} 行：一次最多导入 {MAX_ROWS} 条预约")
            if None in row or any(row.get(c) is None for c in REQUIRED):
                raise BadRequest(f"第 {line} 行：列数与表头不符")
            if not any((v or "").strip() for v in row.values()):
                continue  # an empty line
            try:
                made.append(book._book(row["hall"].strip(), row["item"].strip(), row["start"].strip(),
                                       row["phone"], row.get("name") or "", who=who, source="csv", scope=scope))
            except (BadRequest, Conflict, Forbidden, NotFound) as e:
                raise BadRequest(f"第 {line} 行：{e}；整个文件未导入") from None
    if not made:
        raise BadRequest("文件中没有预约记录")
    for hall in sorted({r["hall"] for r in made}):
        book.send(hall)
    return [book.view(r) for r in made]
