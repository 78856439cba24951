"""The hall's JSON API under /api (INTERFACES.md). Handlers translate HTTP to commands run on
the hall's writer thread; refusals become 4xx responses with a message and a code."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter, QueryParameter
from litestar.response import ServerSentEvent

from sync.kernel.serve import until_stopped

from . import appointments, attendance, cases, closing, presence, queue, ratings, views, voice, windows
from .context import Ctx
from .hall import Hall
from .live import Hub
from .web import (EVENTS, MANAGER, MANAGER_KEYS, PUBLIC, STAFF, STAFF_KEYS, STAFF_OR_MANAGER, AT_WINDOW, access,
                  check_manager, check_pin, own_case, rotate_session, signed_on_session, throttled_login)
from .workflow import Forbidden, Invalid, NotFound, Refused

# Bounds of parameters (a value outside answers 400 with a message, never 500).
MAX_ID = 64  # ids, numbers, staff ids
MAX_TEXT = 2000  # notes and reasons
MAX_SEQ = 2**62  # `after` of /api/events (SQLite integers are 64-bit)
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # dates the hall's calendar can count with
Id = Annotated[str, msgspec.Meta(max_length=MAX_ID)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
PathId = Annotated[str, Parameter(max_length=MAX_ID)]


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class TicketRequest(Body):
    item: Id | None = None
    department: Id | None = None
    priority: bool = False


class TicketIssuedResponse(msgspec.Struct, kw_only=True):
    id: str
    number: str
    department: str
    item: str | None
    priority: bool
    issued_at: str
    waiting_ahead: int
    estimated_wait_minutes: int | None  # None while none of the department's windows is serving


class CheckinRequest(Body):
    entry: Annotated[str, msgspec.Meta(max_length=MAX_ID)]  # a booking code or a phone's last 4 digits


class CheckinIssuedResponse(TicketIssuedResponse, kw_only=True):
    appointment: Literal["on_time", "late"]  # on_time: called ahead of walk-ins; late: an ordinary walk-in


class Rejoin(Body):
    number: Id


class SignOn(Body):
    staff: Id
    pin: Annotated[str, msgspec.Meta(max_length=256)]


class ManagerLogin(Body):
    manager: Id
    password: Annotated[str, msgspec.Meta(max_length=256)]


class Complete(Body):
    outcome: Literal["instant", "promised", "joint", "notice", "gaps", "refused"]
    item: Id | None = None
    missing: Annotated[list[Id], msgspec.Meta(max_length=200)] = []
    co_departments: Annotated[list[Id], msgspec.Meta(max_length=50)] | None = None
    reason: Text = ""
    note: Text = ""
    supply_by: date | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] = ""  # the applicant's, for the result notice (edge.outbox)


class Transfer(Body):
    department: Id | None = None
    item: Id | None = None
    note: Text = ""


class Pause(Body):
    reason: Text = ""


class HandoffRequest(Body):
    from_department: Id
    to_department: Id
    materials: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=200)]
    note: Text = ""


class Supply(Body):
    materials: Annotated[list[Id], msgspec.Meta(max_length=200)]


class Finish(Body):
    result: Literal["done", "refused", "withdrawn"] = "done"
    note: Text = ""


class LeaveRequest(Body, kw_only=True):
    kind: Id
    start: date
    end: date
    start_half: Literal["am", "pm"] = "am"
    end_half: Literal["am", "pm"] = "pm"
    reason: Text = ""
    certificate: bool = False
    staff: Id | None = None  # default: the signed-on staff; a manager or head may file for others


class LeaveDecision(Body, kw_only=True):
    note: Text = ""
    reason: Text = ""


class LeaveReturn(Body, kw_only=True):
    """销假 [C 9]: back at work from `returned` (`returned_half`)."""

    returned: date
    returned_half: Literal["am", "pm"] = "am"


class FollowupClose(Body, kw_only=True):
    result: Literal["resolved", "appeal_upheld", "unreachable"] = "resolved"
    note: Text


def _session(request: Request) -> dict:
    s = request.scope.get("session")
    return dict(s) if isinstance(s, dict) else {}


def actor(request: Request) -> tuple[str, bool]:
    """Who acts: a hall manager's login wins over a staff session; (id, is_manager). The app's
    guard has checked the session is current (web.guard) before the handler runs."""
    s = _session(request)
    if s.get("manager"):
        return s["manager"], True
    if s.get("staff"):
        return s["staff"], False
    raise NotAuthorizedException("请先登录（窗口签到或大厅管理登录）")


def staff_of(request: Request) -> str:
    staff = _session(request).get("staff")
    if not staff:
        raise NotAuthorizedException("请先在窗口签到（工号 + 密码，或刷工作证）")
    return staff


def window_of(request: Request) -> str:
    """The window this staff session signed on at."""
    staff_of(request)
    return _session(request)["window"]


def check_day(d: date | None, name: str = "date") -> date | None:
    if d is not None and not FIRST_DAY <= d <= LAST_DAY:
        raise Invalid("bad-date", f"{name} 超出可用范围（{FIRST_DAY} 至 {LAST_DAY}）")
    return d


def _issued(ctx: Ctx, res: dict) -> TicketIssuedResponse:
    t = res["ticket"]
    return TicketIssuedResponse(
        id=t.id, number=t.number, department=t.department, item=t.item, priority=t.priority,
        issued_at=views.iso(ctx, t.issued_at) or "", waiting_ahead=res["waiting_ahead"],
        estimated_wait_minutes=res["estimated_wait_minutes"],
    )


def _issue(ctx: Ctx, data: TicketRequest) -> TicketIssuedResponse:
    return _issued(ctx, queue.issue(ctx, item=data.item, department=data.department, priority=data.priority))


def _checkin(ctx: Ctx, data: CheckinRequest) -> CheckinIssuedResponse:
    """The kiosk's check-in (edge.appointments.check_in: same rules, same refusals) answered
    like a ticket, its waiting figures in call order (the appointment is ahead of walk-ins)."""
    done = appointments.check_in(ctx, data.entry)
    t = ctx.store.ticket(done["ticket"])
    assert t is not None
    ahead = queue.waiting_ahead(ctx, t) or 0
    return CheckinIssuedResponse(
        id=t.id, number=t.number, department=t.department, item=t.item, priority=t.priority,
        issued_at=views.iso(ctx, t.issued_at) or "", waiting_ahead=ahead,
        estimated_wait_minutes=queue.estimate_wait(ctx, t.department, ahead), appointment=done["status"])


def _ticket(ctx: Ctx, ticket_id: str) -> dict:
    t = ctx.store.ticket(ticket_id)
    if t is None:
        raise NotFound("unknown-ticket", f"没有编号为 {ticket_id} 的号码")
    brief = views.ticket_brief(ctx, t)
    if t.state == "waiting":
        pos = queue.waiting_ahead(ctx, t) or 0
        brief["waiting_ahead"] = pos
        brief["estimated_wait_minutes"] = queue.estimate_wait(ctx, t.department, pos)
    return brief


def _window_cmd(fn):
    """Run a window command for the signed-on staff and answer with the window's new state."""

    def run(ctx: Ctx, window_id: str, staff: str, *args, **kwargs) -> dict:
        fn(ctx, window_id, staff, *args, **kwargs)
        return views.window_brief(ctx, ctx.store.window(window_id))  # type: ignore[arg-type]

    return run


def _sign_on(ctx: Ctx, signons, window_id: str, data: SignOn) -> tuple[dict, dict]:
    windows.get_window(ctx, window_id)
    check_pin(ctx, data.staff, data.pin)
    before = ctx.store.last_seq
    w = presence.sign_on(ctx, window_id, data.staff, via="pin")
    return views.window_brief(ctx, w), signed_on_session(ctx, signons, window_id, data.staff, before)


def _events(ctx: Ctx, after: int, limit: int, epoch: str | None) -> list:
    return ctx.store.events(after, limit, epoch)


def _cases(ctx: Ctx, state: str | None, department: str | None, staff: str | None, window_id: str | None) -> list[dict]:
    """Every case for the manager; a staff member sees their window's department only."""
    if staff is not None:
        own = windows.acting_window(ctx, window_id or "", staff).department
        if department not in (None, own):
            raise Forbidden("not-your-department", "只能查看本窗口部门的办件")
        department = own
    return [views.case_brief(ctx, c) for c in ctx.store.cases(state=state, department=department)]


def _case(ctx: Ctx, case_id: str, staff: str | None, window_id: str | None) -> dict:
    c = own_case(ctx, window_id or "", staff, case_id) if staff is not None else cases.get_case(ctx, case_id)
    return views.case_brief(ctx, c)


def _case_cmd(fn):
    """A case action of the staff signed on at `window_id`: the case must be of the window's
    department or one of its co-departments, exactly as the console's case page checks."""

    def run(ctx: Ctx, window_id: str, staff: str, case_id: str, *args, **kwargs) -> dict:
        own_case(ctx, window_id, staff, case_id)
        fn(ctx, case_id, *args, **kwargs)
        return views.case_brief(ctx, cases.get_case(ctx, case_id))

    return run


def _catalog(ctx: Ctx) -> dict:
    return {
        "departments": [msgspec.to_builtins(d) for d in ctx.catalog.hall_departments()],
        "items": [msgspec.to_builtins(i) for i in ctx.catalog.hall_items()],
    }


class HallApi(Controller):
    path = "/api"
    tags = ["hall"]

    @get("/health", summary="Hall health, sync state and clock", opt=access(PUBLIC))
    async def health(self, hall: NamedDependency[Hall], request: Request) -> dict:
        out = await hall.run(views.health)
        rep = request.app.state.get("replicator")
        if rep is not None:
            epochs = rep.source.epochs()
            acked = rep.source.acked(rep.source.current_epoch())
            out["sync"] = {
                "pending": sum(last - rep.source.acked(ep) for ep, last in epochs),
                "acked_seq": acked,
                "connected": rep.connected,
                "broker": str(rep.link.broker),
            }
        return out

    @get("/catalog", summary="Departments and service items offered at this hall", opt=access(PUBLIC))
    async def catalog(self, hall: NamedDependency[Hall]) -> dict:
        return await hall.run(_catalog)

    @post("/tickets", status_code=201, summary="Take a number (by item or department)", opt=access(PUBLIC))
    async def take_ticket(self, hall: NamedDependency[Hall], data: JSONBody[TicketRequest]) -> TicketIssuedResponse:
        return await hall.run(_issue, data)

    @post("/appointments/checkin", status_code=201, opt=access(PUBLIC),
          summary="Check an appointment in (booking code or phone's last 4 digits): a ticket, as at the kiosk")
    async def appointment_checkin(self, hall: NamedDependency[Hall],
                                  data: JSONBody[CheckinRequest]) -> CheckinIssuedResponse:
        return await hall.run(_checkin, data)

    @get("/tickets/{ticket_id:str}", summary="A ticket's state and place in the queue", opt=access(PUBLIC))
    async def ticket(self, hall: NamedDependency[Hall], ticket_id: PathId) -> dict:
        return await hall.run(_ticket, ticket_id)

    @post("/tickets/rejoin", status_code=200, summary="A missed (no-show) number rejoins the queue", opt=access(PUBLIC))
    async def rejoin(self, hall: NamedDependency[Hall], data: JSONBody[Rejoin]) -> dict:
        return await hall.run(lambda ctx: views.ticket_brief(ctx, queue.rejoin(ctx, data.number)))

    @get("/queue", summary="Waiting counts and estimated wait per department", opt=access(PUBLIC))
    async def queues(self, hall: NamedDependency[Hall]) -> list[dict]:
        return await hall.run(views.queue_summary)

    @get("/display", summary="Everything the hall display board shows", opt=access(PUBLIC))
    async def display(self, hall: NamedDependency[Hall]) -> dict:
        return await hall.run(views.display)

    @get("/stream", summary="Server-sent events: `board` snapshots, `call` announcements, `heartbeat`",
         opt=access(PUBLIC))
    async def stream(self, hall: NamedDependency[Hall], hub: NamedDependency[Hub], request: Request) -> ServerSentEvent:
        stopping = request.app.state["stopping"]
        heartbeat = hall.config.http.stream_heartbeat_seconds

        async def events():
            yield {"event": "board", "data": msgspec.json.encode(await hall.run(views.display)).decode()}
            # ends when the server shuts down (a board reconnects to the restarted node)
            async for news in until_stopped(hub.subscribe(), stopping, heartbeat):
                if news is None:  # quiet: tell the board the connection is alive
                    yield {"event": "heartbeat", "data": msgspec.json.encode(await hall.run(_heartbeat)).decode()}
                    continue
                kinds, calls = news
                for e in calls:
                    body = msgspec.json.decode(e.body)
                    yield {"event": "call", "data": msgspec.json.encode(
                        await hall.run(_announcement, body["ticket"], body["window"])).decode()}
                yield {"event": "board", "data": msgspec.json.encode(await hall.run(views.display)).decode()}

        return ServerSentEvent(events())

    @get("/windows", summary="Every window: department, staff, state, lamp, current ticket", opt=access(PUBLIC))
    async def windows(self, hall: NamedDependency[Hall]) -> list[dict]:
        return await hall.run(views.windows)

    @post("/windows/{window_id:str}/sign-on", status_code=200, summary="Staff signs on at a window (staff id + PIN)", opt=access(PUBLIC))
    async def sign_on(self, hall: NamedDependency[Hall], request: Request, window_id: PathId, data: JSONBody[SignOn]) -> dict:
        res, signed = await throttled_login(request, "pin", data.staff, _sign_on, request.app.state["signons"],
                                            window_id, data)
        rest = {k: v for k, v in _session(request).items() if k not in STAFF_KEYS}
        request.set_session({**rest, **signed})
        rotate_session(request)
        return res

    @post("/windows/{window_id:str}/sign-off", status_code=200, summary="Staff signs off (no service may be open)", opt=access(AT_WINDOW))
    async def sign_off(self, hall: NamedDependency[Hall], request: Request, window_id: PathId) -> dict:
        res = await hall.run(_window_cmd(presence.sign_off), window_id, staff_of(request))
        rest = {k: v for k, v in _session(request).items() if k not in STAFF_KEYS}
        if rest:
            request.set_session(rest)  # keep a manager login of the same browser
        else:
            request.clear_session()
        return res

    @post("/windows/{window_id:str}/call", status_code=200, summary="Call the next number of this window's department", opt=access(AT_WINDOW))
    async def call(self, hall: NamedDependency[Hall], request: Request, window_id: PathId) -> dict:
        return await hall.run(_window_cmd(queue.call_next), window_id, staff_of(request))

    @post("/windows/{window_id:str}/recall", status_code=200, summary="Call the current number again", opt=access(AT_WINDOW))
    async def recall(self, hall: NamedDependency[Hall], request: Request, window_id: PathId) -> dict:
        return await hall.run(_window_cmd(queue.recall), window_id, staff_of(request))

    @post("/windows/{window_id:str}/start", status_code=200, summary="The visitor arrived: service starts", opt=access(AT_WINDOW))
    async def start(self, hall: NamedDependency[Hall], request: Request, window_id: PathId) -> dict:
        return await hall.run(_window_cmd(queue.start), window_id, staff_of(request))

    @post("/windows/{window_id:str}/no-show", status_code=200, summary="Mark the current number missed (after the recalls)", opt=access(AT_WINDOW))
    async def no_show(self, hall: NamedDependency[Hall], request: Request, window_id: PathId) -> dict:
        return await hall.run(_window_cmd(queue.no_show), window_id, staff_of(request))

    @post("/windows/{window_id:str}/complete", status_code=200, summary="End the service with an outcome", opt=access(AT_WINDOW))
    async def complete(self, hall: NamedDependency[Hall], request: Request, window_id: PathId, data: JSONBody[Complete]) -> dict:
        return await hall.run(
            _window_cmd(cases.complete), window_id, staff_of(request), data.outcome, item=data.item,
            missing=data.missing, co_departments=data.co_departments, reason=data.reason, note=data.note,
            supply_by=check_day(data.supply_by, "supply_by"), phone=data.phone,
        )

    @post("/windows/{window_id:str}/transfer", status_code=200, summary="Transfer the visitor to another department (首问负责)", opt=access(AT_WINDOW))
    async def transfer(self, hall: NamedDependency[Hall], request: Request, window_id: PathId, data: JSONBody[Transfer]) -> dict:
        return await hall.run(_window_cmd(queue.transfer), window_id, staff_of(request),
                              department=data.department, item=data.item, note=data.note)

    @post("/windows/{window_id:str}/pause", status_code=200, summary="Step away: the service-paused lamp lights", opt=access(AT_WINDOW))
    async def pause(self, hall: NamedDependency[Hall], request: Request, window_id: PathId, data: JSONBody[Pause | None] = None) -> dict:
        reason = data.reason if data else ""
        return await hall.run(_window_cmd(presence.pause), window_id, staff_of(request), reason)

    @post("/windows/{window_id:str}/resume", status_code=200, summary="Back at the window: the lamp goes out", opt=access(AT_WINDOW))
    async def resume(self, hall: NamedDependency[Hall], request: Request, window_id: PathId) -> dict:
        return await hall.run(_window_cmd(presence.resume), window_id, staff_of(request))

    @get("/cases", summary="Cases (promised, joint, notices, 容缺, refusals)", opt=access(STAFF_OR_MANAGER))
    async def list_cases(self, hall: NamedDependency[Hall], request: Request,
                         case_state: Annotated[Literal["open", "closed"] | None, QueryParameter(name="state")] = None,
                         department: Annotated[str | None, QueryParameter(max_length=MAX_ID)] = None) -> list[dict]:
        who, manager = actor(request)
        return await hall.run(_cases, case_state, department, None if manager else who,
                              None if manager else window_of(request))

    @get("/cases/{case_id:str}", summary="One case with its hand-overs", opt=access(STAFF_OR_MANAGER))
    async def case(self, hall: NamedDependency[Hall], request: Request, case_id: PathId) -> dict:
        who, manager = actor(request)
        return await hall.run(_case, case_id, None if manager else who, None if manager else window_of(request))

    @post("/cases/{case_id:str}/handoffs", status_code=200, summary="Record materials handed between departments", opt=access(STAFF))
    async def handoff(self, hall: NamedDependency[Hall], request: Request, case_id: PathId, data: JSONBody[HandoffRequest]) -> dict:
        return await hall.run(_case_cmd(cases.handoff), window_of(request), staff_of(request), case_id,
                              data.from_department, data.to_department, data.materials, staff_of(request), data.note)

    @post("/cases/{case_id:str}/supply", status_code=200, summary="Missing materials of a 容缺 case supplied", opt=access(STAFF))
    async def supply(self, hall: NamedDependency[Hall], request: Request, case_id: PathId, data: JSONBody[Supply]) -> dict:
        return await hall.run(_case_cmd(cases.supply), window_of(request), staff_of(request), case_id,
                              data.materials, staff_of(request))

    @post("/cases/{case_id:str}/finish", status_code=200, summary="Finish a case", opt=access(STAFF))
    async def finish(self, hall: NamedDependency[Hall], request: Request, case_id: PathId, data: JSONBody[Finish]) -> dict:
        return await hall.run(_case_cmd(cases.finish), window_of(request), staff_of(request), case_id,
                              staff_of(request), data.result, data.note)

    @post("/login", status_code=200, summary="Hall manager login (JSON; the page form is /manage/login)",
          opt=access(PUBLIC))
    async def login(self, request: Request, data: JSONBody[ManagerLogin]) -> dict:
        name, key = await throttled_login(request, "manager", data.manager, check_manager, data.manager, data.password)
        rest = {k: v for k, v in _session(request).items() if k not in MANAGER_KEYS and k != "flash"}
        request.set_session({**rest, "manager": data.manager, "manager_name": name, "manager_key": key})
        rotate_session(request)
        return {"manager": data.manager, "name": name}

    @post("/logout", status_code=200, summary="End this browser's manager login and staff session", opt=access(PUBLIC))
    async def logout(self, request: Request) -> dict:
        request.clear_session()
        return {"ok": True}

    @get("/audit/logins", summary="Failed logins at this hall, newest first (PIN and manager password)",
         opt=access(MANAGER))
    async def login_audit(self, request: Request) -> list[dict]:
        return request.app.state["login_audit"].rows()

    @get("/events", summary="The hall's event log in seq order", opt=access(EVENTS))
    async def events(
        self, hall: NamedDependency[Hall],
        after: Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        epoch: Annotated[str | None, QueryParameter(max_length=MAX_ID)] = None,
    ) -> list:
        """`epoch` defaults to the current one; /api/health lists every epoch of the log."""
        return await hall.run(_events, after, limit, epoch)


def _request_leave(ctx: Ctx, data: LeaveRequest, who: str, manager: bool) -> dict:
    staff = data.staff or (None if manager else who)
    if staff is None:
        raise Invalid("staff-required", "请指定请假人员")
    if not manager and staff != who:
        me = ctx.catalog.staff.get(who)
        other = ctx.catalog.staff.get(staff)
        if me is None or not me.head or other is None or other.department != me.department:
            raise Forbidden("not-allowed", "只能为自己请假（窗口负责人可为本部门人员代报）")
    lv = attendance.request_leave(ctx, staff, data.kind, data.start, data.end, data.start_half, data.end_half,
                                  data.reason, data.certificate, by=who)
    return attendance.leave_brief(ctx, lv)


def _leaves(ctx: Ctx, state: str | None, staff: str | None, who: str, manager: bool) -> list[dict]:
    """The manager sees every request; a window head those of their department; others their own."""
    rows = ctx.store.leaves(state=state, staff=staff)
    if not manager:
        me = ctx.catalog.staff.get(who)
        dept = me.department if me is not None and me.head else None

        def visible(lv) -> bool:
            other = ctx.catalog.staff.get(lv.staff)
            return lv.staff == who or (dept is not None and other is not None and other.department == dept)

        rows = [lv for lv in rows if visible(lv)]
    return [attendance.leave_brief(ctx, lv) for lv in rows]


class DevicesApi(Controller):
    path = "/api"
    tags = ["devices, attendance, ratings, closing"]

    @get("/devices", summary="Device health: faults from the log, live state of readers and GPIO", opt=access(STAFF_OR_MANAGER))
    async def devices(self, hall: NamedDependency[Hall], request: Request) -> dict:
        hw = request.app.state.get("hardware")
        return {"recorded": await hall.run(views.devices), "live": hw.health() if hw is not None else []}

    @get("/attendance", summary="A day's attendance per staff member and each window's coverage", opt=access(MANAGER))
    async def attendance_day(self, hall: NamedDependency[Hall], day: Annotated[date | None, QueryParameter(name="date")] = None) -> dict:
        return await hall.run(attendance.day_report, check_day(day))

    @get("/attendance/punches", summary="A day's punches in time order", opt=access(MANAGER))
    async def punches(self, hall: NamedDependency[Hall], day: Annotated[date | None, QueryParameter(name="date")] = None) -> list:
        check_day(day)
        return await hall.run(lambda ctx: ctx.store.punches((day or ctx.today()).isoformat()))

    @get("/leave", summary="Leave requests", opt=access(STAFF_OR_MANAGER))
    async def leaves(self, hall: NamedDependency[Hall], request: Request,
                     leave_state: Annotated[Literal["requested", "approved", "rejected", "cancelled"] | None, QueryParameter(name="state")] = None,
                     staff: Annotated[str | None, QueryParameter(max_length=MAX_ID)] = None) -> list[dict]:
        who, manager = actor(request)
        return await hall.run(_leaves, leave_state, staff, who, manager)

    @post("/leave", status_code=201, summary="Request leave (staff for themselves; a head or manager for others)", opt=access(STAFF_OR_MANAGER))
    async def request_leave(self, hall: NamedDependency[Hall], request: Request, data: JSONBody[LeaveRequest]) -> dict:
        who, manager = actor(request)
        check_day(data.start, "start"), check_day(data.end, "end")
        return await hall.run(_request_leave, data, who, manager)

    @post("/leave/{leave_id:str}/approve", status_code=200, summary="Approve (window head / chief representative, or manager)", opt=access(STAFF_OR_MANAGER))
    async def approve_leave(self, hall: NamedDependency[Hall], request: Request, leave_id: PathId,
                            data: JSONBody[LeaveDecision | None] = None) -> dict:
        who, manager = actor(request)
        note = data.note if data else ""
        return await hall.run(lambda ctx: attendance.leave_brief(ctx, attendance.approve_leave(ctx, leave_id, who, manager, note)))

    @post("/leave/{leave_id:str}/reject", status_code=200, summary="Reject a leave request", opt=access(STAFF_OR_MANAGER))
    async def reject_leave(self, hall: NamedDependency[Hall], request: Request, leave_id: PathId,
                           data: JSONBody[LeaveDecision | None] = None) -> dict:
        who, manager = actor(request)
        reason = data.reason if data else ""
        return await hall.run(lambda ctx: attendance.leave_brief(ctx, attendance.reject_leave(ctx, leave_id, who, manager, reason)))

    @post("/leave/{leave_id:str}/return", status_code=200, summary="销假: back at work early (the staff member, their head, or manager)", opt=access(STAFF_OR_MANAGER))
    async def return_from_leave(self, hall: NamedDependency[Hall], request: Request, leave_id: PathId,
                                data: JSONBody[LeaveReturn]) -> dict:
        who, manager = actor(request)
        check_day(data.returned, "returned")
        return await hall.run(lambda ctx: attendance.leave_brief(ctx, attendance.end_leave(
            ctx, leave_id, data.returned, data.returned_half, who, manager)))

    @get("/step-aways", summary="A day's step-away intervals: start, end, whether they broke the limit", opt=access(MANAGER))
    async def step_aways(self, hall: NamedDependency[Hall], day: Annotated[date | None, QueryParameter(name="date")] = None) -> list[dict]:
        return await hall.run(views.step_aways, check_day(day))

    @get("/ratings", summary="Ratings per level, window and department over service dates", opt=access(STAFF_OR_MANAGER))
    async def ratings_summary(self, hall: NamedDependency[Hall], start: FromQuery[date | None] = None,
                              end: FromQuery[date | None] = None) -> dict:
        check_day(start, "start"), check_day(end, "end")
        return await hall.run(ratings.summary, start.isoformat() if start else None, end.isoformat() if end else None)

    @get("/followups", summary="Follow-ups of bad ratings", opt=access(STAFF_OR_MANAGER))
    async def followups(self, hall: NamedDependency[Hall],
                        f_state: Annotated[Literal["open", "closed"] | None, QueryParameter(name="state")] = None) -> list[dict]:
        return await hall.run(lambda ctx: [ratings.followup_brief(ctx, f) for f in ctx.store.followups(f_state)])

    @post("/followups/{followup_id:str}/close", status_code=200, summary="Close a follow-up with its result", opt=access(STAFF_OR_MANAGER))
    async def close_followup(self, hall: NamedDependency[Hall], request: Request, followup_id: PathId,
                             data: JSONBody[FollowupClose]) -> dict:
        who, manager = actor(request)
        return await hall.run(lambda ctx: ratings.followup_brief(
            ctx, ratings.close_followup(ctx, followup_id, who, data.result, data.note, manager)))

    @get("/closing", summary="Today's closing check", opt=access(STAFF_OR_MANAGER))
    async def closing_state(self, hall: NamedDependency[Hall], request: Request) -> dict:
        hw = request.app.state.get("hardware")
        return await hall.run(closing.state, bool(hw is not None and hw.sensors()))

    @post("/closing/check", status_code=200, summary="Run the closing check now (records the result)", opt=access(STAFF_OR_MANAGER))
    async def closing_check(self, hall: NamedDependency[Hall], request: Request) -> dict:
        who, _ = actor(request)
        hw = request.app.state.get("hardware")
        sensors = hw.sensors() if hw is not None else []
        if not sensors:
            raise Refused("no-sensors", "本大厅未配置门磁或电源检测")
        return await hall.run(closing.check, sensors, who, True)


def _heartbeat(ctx: Ctx) -> dict:
    return {"now": ctx.calendar.local(ctx.now()).isoformat(timespec="seconds")}


def _announcement(ctx: Ctx, ticket_id: str, window_id: str) -> dict:
    t = ctx.store.ticket(ticket_id)
    w = ctx.catalog.windows.get(window_id)
    name = w.name if w else window_id
    return {"number": t.number if t else "", "window": window_id, "window_name": name,
            "text": voice.call_text(t.number if t else "", name)}  # what the board's offline voice says too
