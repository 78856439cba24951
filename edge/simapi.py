"""The simulation endpoints under /api/sim, with `--simulate` only (INTERFACES.md): drive the
MockFactory pins and the simulated badge readers of `edge.hardware`."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Literal

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from msgspec import Meta

from .api import Body, Id, PathId
from .printing import printer_state, switch_printer
from .web import PUBLIC, access
from .workflow import Invalid, NotFound, Refused


class PinAction(Body, kw_only=True):
    action: Literal["press", "release", "high", "low"]


class BadgeWrite(Body, kw_only=True):
    reader: Id
    card: Id
    variant: Literal["normal", "clone", "crlf", "corrupt", "garbage"] = "normal"


class ReaderAction(Body, kw_only=True):
    action: Literal["unplug", "plug"]


class WriterHang(Body, kw_only=True):
    seconds: Annotated[float, Meta(gt=0, le=600)]


def _block_writer(ctx, seconds: float) -> None:
    """A command that keeps the hall's writer thread busy (a simulated hung writer)."""
    threading.Event().wait(seconds)


class SimApi(Controller):
    """`--simulate` only (INTERFACES.md): drive the MockFactory pins and the simulated readers."""

    path = "/api/sim"
    tags = ["simulation"]

    @staticmethod
    def _hw(request: Request):
        hw = request.app.state.get("hardware")
        if hw is None or not hw.simulate:
            raise Refused("no-simulation", "没有模拟设备（请用 --simulate 启动）")
        return hw

    @get("/pins", summary="Every configured pin with its role and state", opt=access(PUBLIC))
    async def pins(self, request: Request) -> list[dict]:
        return self._hw(request).sim_pins()

    @post("/pins/{name:str}", status_code=200, summary="Drive an input: press, release, high, low", opt=access(PUBLIC))
    async def drive(self, request: Request, name: PathId, data: JSONBody[PinAction]) -> dict:
        hw = self._hw(request)
        if name not in hw.cfg.pins:
            raise NotFound("unknown-pin", f"没有名为 {name} 的引脚")
        try:
            hw.sim_drive(name, data.action)
        except (ValueError, TypeError) as e:
            raise Refused("not-drivable", str(e)) from None
        await asyncio.to_thread(hw.drain)
        return next(p for p in hw.sim_pins() if p["name"] == name)

    @get("/readers", summary="The simulated badge readers and what they last read", opt=access(PUBLIC))
    async def readers(self, request: Request) -> list[dict]:
        return [h for h in self._hw(request).health() if h["kind"] == "reader"]

    @post("/badge", status_code=200, summary="Write a card frame into a simulated reader's port", opt=access(PUBLIC))
    async def badge(self, request: Request, data: JSONBody[BadgeWrite]) -> dict:
        hw = self._hw(request)
        if data.reader not in hw.sim_ports:
            raise NotFound("unknown-reader", f"没有名为 {data.reader} 的读卡器")
        try:
            frame = hw.sim_badge(data.reader, data.card, data.variant)
        except ValueError as e:
            raise Invalid("bad-card", str(e)) from None
        except OSError as e:
            raise Refused("reader-unplugged", f"读卡器已拔出：{e}") from None
        return {"reader": data.reader, "written": frame.hex(" ")}

    @post("/readers/{name:str}", status_code=200, summary="Unplug or plug a simulated reader", opt=access(PUBLIC))
    async def plug(self, request: Request, name: PathId, data: JSONBody[ReaderAction]) -> dict:
        hw = self._hw(request)
        if name not in hw.sim_ports:
            raise NotFound("unknown-reader", f"没有名为 {name} 的读卡器")
        hw.sim_plug(name, data.action == "plug")
        return {"reader": name, "plugged": data.action == "plug"}


    @post("/writer/hang", status_code=200, summary="Block the hall's writer thread for some seconds (a hung writer: "
          "systemd's watchdog pings stop)", opt=access(PUBLIC))
    async def hang_writer(self, request: Request, data: JSONBody[WriterHang]) -> dict:
        if not request.app.state.get("simulate"):
            raise Refused("no-simulation", "没有模拟设备（请用 --simulate 启动）")
        request.app.state["hall"].submit(_block_writer, data.seconds)
        return {"hung_seconds": data.seconds}


class PrinterSwitch(Body, kw_only=True):
    paper: Literal["ok", "low", "out"] | None = None
    online: bool | None = None


def sim_printer(request: Request):
    """The app's simulated receipt printer (edge.printing with --simulate)."""
    printing = request.app.state.get("printing")
    if printing is None or printing.sim is None:
        raise Refused("no-simulated-printer", "没有模拟打印机（请在 [devices.printer] 配置打印机并用 --simulate 启动）")
    return printing


class SimPrinterApi(Controller):
    """`--simulate` only: the simulated receipt printer (the slips it decoded, paper and power)."""

    path = "/api/sim/printer"
    tags = ["simulation"]

    @get("/", summary="The simulated printer: state and the last slips decoded from its ESC/POS stream",
         opt=access(PUBLIC))
    async def printer(self, request: Request) -> dict:
        return printer_state(sim_printer(request))

    @post("/", status_code=200, summary="Switch the simulated printer's paper (ok, low, out) or power (online)",
          opt=access(PUBLIC))
    async def switch(self, request: Request, data: JSONBody[PrinterSwitch]) -> dict:
        if data.paper is None and data.online is None:
            raise Invalid("nothing-to-switch", "请给出 paper（ok、low、out）或 online（true、false）")
        return await switch_printer(sim_printer(request), data.paper, data.online)


def sim_handlers() -> list:
    return [SimApi, SimPrinterApi]
