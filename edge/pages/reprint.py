"""Reprinting a queue slip by its number (补打号码条), from a window console and the manager's
page: the number is looked up among today's tickets (an unknown one is refused and nothing is
printed or recorded), the slip goes to the kiosk's printer, and the attempt with its outcome is
a `slip.reprinted` event (edge.printing)."""

from __future__ import annotations

import asyncio

from litestar import Request

from devices.printer import PrinterFault

from ..hall import Hall
from ..printing import record_reprint, reprint_slip
from ..workflow import Refused
from .common import Form, flash


class ReprintForm(Form):
    number: str = ""


async def reprint(request: Request, hall: Hall, number: str, by: str, role: str) -> None:
    """Print today's `number` again; the outcome is the flash message."""
    printing = request.app.state.get("printing")
    if printing is None:
        flash(request, "本大厅未配置号码条打印机，无法补打")
        return
    try:
        ticket_id, slip = await hall.run(reprint_slip, number[:32], hall.config.hall.name)
    except Refused as e:
        flash(request, e.message)
        return
    wait = printing.cfg.timeout_seconds * 3 + 5  # opening, the status answers and the write
    try:
        await asyncio.wait_for(asyncio.wrap_future(printing.print_now(slip)), timeout=wait)
        printed, reason = True, ""
    except PrinterFault as e:
        printed, reason = False, e.message
    except asyncio.TimeoutError:
        printed, reason = False, "打印机无响应"
    await hall.run(record_reprint, ticket_id, slip.number, by, role, printed, reason)
    if printed:
        flash(request, f"已补打号码条 {slip.number}", kind="ok")
    else:
        flash(request, f"号码 {slip.number} 补打失败：{reason}")
