"""Staff and visitor behaviour of one hall, over its HTTP API, on the simulated clock.

`HallSim` owns no thread and never sleeps: the demo calls `step(now)` with the hall's simulated
time, often; every action due by then is sent. A day of a hall (planned from its configuration,
its calendar and the windows in service, seeded-random):

- doors open and power on before opening; staff arrive before the first period (a few late),
  each badges at the hall reader first (`POST /api/sim/badge`, where the hall has one) and signs
  on at the window with the console PIN; A-role staff on leave are covered by their B-role backup
  (the approval records the hand-over [C 7, AB-2]). Leave follows a four-day cycle per hall
  (`LEAVE_CYCLE`, shifted by the hall's index so different halls show different cases on one
  day): sick leave filed and approved the same day by the department's head; an absence filed
  the next day after the fact [J 28]; annual leave for the next working day approved with the
  home department's consent [C 9(3)]; two days of sick leave ended early by the staff member
  signing on the next morning (销假 [C 9]);
- visitors arrive by hour of day (a morning peak) for items whose window is in service;
- windows call, the visitor comes (`/start`), the service takes about the item's
  `service_minutes`, and ends with an outcome: mostly instant, also promised, joint, notice,
  gaps, refused (with their required fields); now and then a visitor does not come (two
  recalls, then no-show);
- ratings pressed on the rating buttons after a service, where the window has them;
- step-aways: short ones (3–8 min) and one long one (over the limit), with the pause button
  where there is one, else the console's pause/resume; every other day the long one ends with a
  sign-off while still paused (judged by the limit [C 9(4)]) and the staff member signs on again
  20–40 minutes later: a mid-day gap in the window's coverage [U 21];
- numbers taken before closing are still served (up to the hall's `max_extension_minutes`);
  then staff sign off and badge out; the last one out switches the power off and shuts the
  doors but one, which stays open until the closing check has alarmed, then is shut.
- visitors pick a department in proportion to the windows serving it today, so no queue grows
  without bound;
- the hall manager's desk, one hall a day in turn (`manager_day`): mid-morning a complaint taken
  at the 办不成事 reflection window (`/manage/complaints`, synced to central like any event
  [J 35, C 19]); after closing, once the last door is shut, a manual closing check
  (`/manage/closing/manual`, both items confirmed [J 42, U 31]).

Every HTTP error is logged in one line and the simulation continues.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

import httpx

from edge.config import EdgeConfig
from simulators.demologins import DEMO_MANAGER_PASSWORD
from sync.kernel.calendar import HallCalendar
from sync.kernel.schedule import Schedule, on_shift

PIN = "1234"
# the leave case of a hall's day: by (day ordinal + the hall's index) modulo 4
LEAVE_CYCLE = ("sick", "unfiled", "annual_ahead", "sick_two_days")
HOURLY = {7: 0.2, 8: 1.3, 9: 1.7, 10: 1.4, 11: 0.9, 12: 0.3, 13: 0.6, 14: 1.0, 15: 0.9, 16: 0.6, 17: 0.2}
PER_WINDOW_HOUR = 6.0  # visitors per window in service per hour, times HOURLY
RATING_WEIGHTS = {5: 60, 4: 25, 3: 8, 2: 5, 1: 2}


@dataclass
class Stats:
    issued: int = 0
    served: int = 0
    no_shows: int = 0
    ratings: int = 0
    step_aways: int = 0
    errors: int = 0
    outcomes: Counter = field(default_factory=Counter)


class Agent:
    """One staff member working one window for the day."""

    def __init__(self, sim: "HallSim", staff, window: str, role: str, arrive: datetime, leave: datetime) -> None:
        self.sim, self.staff, self.window, self.role = sim, staff, window, role
        self.arrive, self.leave = arrive, leave
        self.http = httpx.Client(base_url=sim.base, timeout=10.0)  # own cookie jar: the console session
        self.state = "away"  # away → idle ⇄ called/serving/paused → gone
        self.next_at = arrive
        self.ticket: dict | None = None
        self.recalls = 0
        self.pauses: list[tuple[datetime, float, bool]] = []  # (when, minutes, end it by signing off)
        self.pause_until: datetime | None = None
        self.sign_off_paused = False  # this pause ends with a sign-off, then back later [C 9(4)]
        self.item: dict | None = None
        self.after_sign_on: list[Callable[["Agent"], None]] = []  # run once, at the first sign-on

    def post(self, path: str, body: dict | None = None) -> dict | None:
        return self.sim.post(path, body, client=self.http, who=f"{self.window} {self.staff.id}")

    def step(self, now: datetime, waiting: dict[str, int]) -> None:
        if now < self.next_at or self.state == "gone":
            return
        w = f"/api/windows/{self.window}"
        if self.state == "away":
            self.sim.badge(self.staff)
            if self.post(f"{w}/sign-on", {"staff": self.staff.id, "pin": PIN}) is not None:
                self.state = "idle"
                actions, self.after_sign_on = self.after_sign_on, []
                for action in actions:
                    action(self)
            self.next_at = now + timedelta(seconds=30)
        elif self.state == "idle":
            if self.pauses and now >= self.pauses[0][0]:
                _, minutes, by_sign_off = self.pauses.pop(0)
                if self.sim.pause_pin(self.window, self.http):
                    self.state, self.pause_until = "paused", now + timedelta(minutes=minutes)
                    self.sign_off_paused = by_sign_off
                    self.sim.stats.step_aways += 1
                self.next_at = now + timedelta(seconds=20)
            elif (waiting.get(self.sim.window_dept[self.window], 0) > 0
                  and now < self.sim.closes + timedelta(minutes=self.sim.extension_minutes)):
                # numbers taken before closing are still served, up to the hall's extension limit
                t = self.post(f"{w}/call")
                if t is not None:
                    # /call answers the window, with the called ticket in it
                    self.ticket, self.recalls, self.state = t.get("ticket") or t, 0, "called"
                    self.next_at = now + timedelta(seconds=self.sim.rng.uniform(20, 70))
                else:
                    self.next_at = now + timedelta(seconds=60)
            elif now >= self.leave:
                if not self.sim.sign_off(self.window, self.http, f"{self.window} {self.staff.id}"):
                    # refused: visitors still wait and no other window of the department is on
                    # duty [U 21, B 28]; past the extension the hall manager confirms the sign-off
                    # (else the window stays signed on overnight and its A-post cannot sign on)
                    self.sim.manager_sign_off(self.window)
                self.sim.badge(self.staff)
                self.state = "gone"
            else:
                self.next_at = now + timedelta(seconds=self.sim.rng.uniform(10, 40))
        elif self.state == "called":
            if self.sim.rng.random() < 0.04 or self.recalls:  # the visitor does not come
                if self.recalls < self.sim.recalls_needed:
                    self.post(f"{w}/recall")
                    self.recalls += 1
                    self.next_at = now + timedelta(seconds=60)
                    return
                if self.post(f"{w}/no-show") is not None:
                    self.sim.stats.no_shows += 1
                self.state, self.next_at = "idle", now + timedelta(seconds=20)
                return
            self.post(f"{w}/start")
            self.item = self.sim.items.get((self.ticket or {}).get("item") or "")
            minutes = float((self.item or {}).get("service_minutes") or 6)
            self.state = "serving"
            self.next_at = now + timedelta(minutes=max(1.0, self.sim.rng.gauss(minutes, minutes / 4)))
        elif self.state == "serving":
            body = self.sim.outcome(self.item)
            if self.post(f"{w}/complete", body) is None and body["outcome"] != "instant":
                body = {"outcome": (self.item or {}).get("mode") or "instant"}  # a simpler outcome
                if body["outcome"] == "joint":
                    body["outcome"] = "instant"
                self.post(f"{w}/complete", body)
            self.sim.stats.served += 1
            self.sim.stats.outcomes[body["outcome"]] += 1
            self.state, self.ticket = "idle", None
            self.sim.rate(self.window, now)
            self.next_at = now + timedelta(seconds=self.sim.rng.uniform(15, 60))
        elif self.state == "paused":
            if self.pause_until and now >= self.pause_until:
                if self.sign_off_paused and self.post(f"{w}/sign-off") is not None:
                    # signed off while paused: the step-away ends and is judged [C 9(4)]; the
                    # window is uncovered until they sign on again [U 21]
                    self.sim.badge(self.staff)
                    self.state, self.pause_until, self.sign_off_paused = "away", None, False
                    self.next_at = now + timedelta(minutes=self.sim.rng.uniform(20, 40))
                    return
                self.sim.pause_pin(self.window, self.http, resume=True)  # (a refused sign-off: visitors wait)
                self.state, self.pause_until, self.sign_off_paused = "idle", None, False
            self.next_at = now + timedelta(seconds=30)

    def close(self) -> None:
        self.http.close()


class HallSim:
    def __init__(self, cfg: EdgeConfig, base_url: str, rng: random.Random,
                 log: Callable[[str], None] = print, load: float = 1.0, index: int = 0) -> None:
        self.cfg, self.base, self.rng, self.log, self.load = cfg, base_url, rng, log, load
        self.index = index  # the hall's place in the campus: shifts its leave cycle
        self.hall = cfg.hall.id
        self.cal = HallCalendar(cfg.business.calendar)
        self.http = httpx.Client(base_url=base_url, timeout=10.0)
        self.stats = Stats()
        self.recalls_needed = cfg.business.rules.no_show_after_recalls
        self.window_dept = {w.id: w.department for w in cfg.business.windows}
        self.items: dict[str, dict] = {}
        self.hall_reader = next((r.name for r in cfg.devices.readers if r.role == "hall"), None)
        pins = cfg.devices.pins
        self.pause_pins = {p.window: n for n, p in pins.items() if p.role == "pause_button"}
        self.rate_pins = {(p.window, p.level): n for n, p in pins.items() if p.role == "rating_button"}
        self.doors = [n for n, p in pins.items() if p.role == "door"]
        self.power = [n for n, p in pins.items() if p.role == "power"]
        self.day: date | None = None
        self.closes: datetime | None = None  # today's last period end
        self.hall_closed = False
        self.extension_minutes = cfg.business.rules.closing.max_extension_minutes
        self.check_within_minutes = cfg.business.rules.closing.check_within_minutes
        self.agents: list[Agent] = []
        self.plan: list[tuple[datetime, str, Callable[[], None]]] = []  # hall-level actions
        self.next_visitor: datetime | None = None
        self.in_service_items: list[dict] = []
        self.waiting: dict[str, int] = {}
        self.on_leave: str | None = None
        self.leave_plan: dict[date, set[str]] = {}  # staff on leave approved on an earlier day
        self.unfiled: list[tuple[date, str]] = []  # absences their head files after the fact [J 28]
        self.returning: dict[str, tuple[str, date]] = {}  # staff → (leave id, the day they come back)
        self._manager: httpx.Client | None = None  # the hall manager's session (leave without a head)
        self.last_error = ""
        self.unreachable = 0  # requests failed in a row because the hall did not answer
        self.first_ticket: str | None = None  # the id of the first number the simulated visitors took
        self.booked = None  # simulators.appointments.BookedVisitors: the demo sets it (central's API)

    # ------------------------------------------------------------------ HTTP, errors logged
    def request(self, method: str, path: str, body: dict | None = None, client: httpx.Client | None = None,
                who: str = "", expected: tuple[str, ...] = ()) -> dict | list | None:
        """The answer's JSON, or None on a failure (counted as an error) or on a refusal whose
        code is in `expected` (an answer the caller handles, not an error)."""
        try:
            r = (client or self.http).request(method, path, json=body)
        except httpx.TransportError as e:
            self._unreachable(f"{type(e).__name__} {e}")
            return None
        except httpx.HTTPError as e:
            self._error(f"{method} {path}: {type(e).__name__} {e}", who)
            return None
        if self.unreachable:
            self.log(f"  {self.hall}: reachable again ({self.unreachable} requests failed meanwhile)")
            self.unreachable = 0
        if r.status_code >= 400:
            try:
                detail = r.json().get("code") or r.json().get("detail")
            except ValueError:
                detail = r.text[:80]
            if detail in expected:
                return None
            self._error(f"{method} {path}: {r.status_code} {detail}", who)
            return None
        return r.json() if r.content else {}

    def post(self, path: str, body: dict | None = None, client: httpx.Client | None = None, who: str = "",
             expected: tuple[str, ...] = ()):
        return self.request("POST", path, body, client, who, expected)

    def sign_off(self, window: str, client: httpx.Client, who: str) -> bool:
        """签退 at `window`; False when the hall refuses it — 409 department-still-waiting (the
        department's visitors would be left waiting: expected at closing, not an error) or any
        other failure (counted as an error)."""
        return self.post(f"/api/windows/{window}/sign-off", client=client, who=who,
                         expected=("department-still-waiting",)) is not None

    def manager_sign_off(self, window: str) -> None:
        """The hall manager confirms a refused sign-off (管理页 确认签退; recorded as override_by)."""
        self._manager_form(f"/manage/windows/{window}/sign-off", {})

    def _unreachable(self, text: str) -> None:
        """The hall does not answer (stopped, restarting): one line when it starts, counted after."""
        self.stats.errors += 1
        if not self.unreachable:
            self.log(f"  ! {self.hall}: not reachable ({text}); its simulated people wait")
        self.unreachable += 1

    def _error(self, text: str, who: str) -> None:
        self.stats.errors += 1
        self.last_error = f"{self.hall}{' ' + who if who else ''}: {text}"
        self.log(f"  ! {self.last_error}")

    # ------------------------------------------------------------------ devices
    def badge(self, staff) -> None:
        if self.hall_reader and staff.card:
            self.post("/api/sim/badge", {"reader": self.hall_reader, "card": staff.card})

    def pin(self, name: str, *actions: str) -> None:
        for a in actions:
            self.post(f"/api/sim/pins/{name}", {"action": a})

    def pause_pin(self, window: str, client: httpx.Client, resume: bool = False) -> bool:
        if window in self.pause_pins:
            self.pin(self.pause_pins[window], "press", "release")
            return True
        path = f"/api/windows/{window}/{'resume' if resume else 'pause'}"
        return self.post(path, None if resume else {"reason": "离开窗口"}, client=client) is not None

    def rate(self, window: str, now: datetime) -> None:
        if not any(w == window for w, _ in self.rate_pins) or self.rng.random() > 0.75:
            return
        level = self.rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]
        name = self.rate_pins.get((window, level))
        if name:
            self.pin(name, "press", "release")
            self.stats.ratings += 1

    # ------------------------------------------------------------------ outcomes
    def outcome(self, item: dict | None) -> dict:
        mode = (item or {}).get("mode") or "instant"
        materials = [m for m in (item or {}).get("materials", []) if isinstance(m, dict) and m.get("id")]
        gap_ok = [m["id"] for m in materials if m.get("gap_allowed")]
        r = self.rng.random()
        if r < 0.04:
            return {"outcome": "refused", "reason": "不符合办理条件（模拟）"}
        if r < 0.09 and materials:
            return {"outcome": "notice", "missing": [self.rng.choice(materials)["id"]]}
        if r < 0.14 and gap_ok:
            return {"outcome": "gaps", "missing": [self.rng.choice(gap_ok)]}
        if mode == "promised" and (item or {}).get("promise_days"):
            return {"outcome": "promised"}
        if mode == "joint":
            return {"outcome": "joint"}
        return {"outcome": "instant"}

    # ------------------------------------------------------------------ the day
    def plan_day(self, day: date, now: datetime) -> None:
        for a in self.agents:
            a.close()
        self.day, self.agents, self.plan, self.on_leave = day, [], [], None
        self.closes, self.hall_closed = None, False
        periods = self.cal.periods_on(day)
        if not periods:
            return
        opens, closes = periods[0][0], periods[-1][1]
        catalog = self.request("GET", "/api/catalog") or {}
        self.items = {i["id"]: i for i in catalog.get("items", [])}
        windows = [w for w in (self.request("GET", "/api/windows") or []) if w.get("in_service")]
        serving = {w["department"] for w in windows}
        self.in_service_items = [i for i in self.items.values() if i["department"] in serving]
        staff = self.cfg.business.staff
        used: set[str] = set()
        plan: list[tuple] = []  # (staff, window, role)
        # who works where comes from the schedule model: the A-role on shift at a rotating window
        # [B 14]; on a rostered vacation duty day the duty staff (role "duty") [J 29, U 22, B 29]
        sched = Schedule(self.cfg.business, self.cal)
        roster = sched.rostered(day) or {}
        conf = {w.id: w for w in self.cfg.business.windows}
        a_of = {w["id"]: next((s for s in staff if w["id"] in s.windows and w["id"] in conf
                               and on_shift(conf[w["id"]], s.id, day)), None) for w in windows}
        b_of = {w["id"]: [s for s in staff if w["id"] in s.backup_for] for w in windows}
        case = LEAVE_CYCLE[(day.toordinal() + self.index) % len(LEAVE_CYCLE)]
        away = self.leave_plan.pop(day, set())  # approved on an earlier day
        coverable = [] if roster else [w for w in a_of if a_of[w] and b_of[w]]  # nobody takes leave on duty days
        fresh = [w for w in coverable if a_of[w].id not in away and a_of[w].id not in self.returning
                 and a_of[w].id not in {s for _, s in self.unfiled}]
        leave_window = self.rng.choice(fresh) if fresh and case != "annual_ahead" else None
        if leave_window:
            away = away | {a_of[leave_window].id}
        for w in windows:
            wid, a = w["id"], a_of[w["id"]]
            duty = next((s for s in staff if s.id in roster.get(wid, ()) and s.id not in used), None)
            if duty is not None:
                used.add(duty.id)
                plan.append((duty, wid, "duty"))
                continue
            person, role = (a, "A") if a and a.id not in away and a.id not in used else (None, None)
            if person is None:
                person = next((b for b in b_of[wid] if b.id not in used), None)
                role = "B"
            if person is None:
                continue
            used.add(person.id)
            plan.append((person, wid, role))
        if leave_window:
            self.on_leave = a_of[leave_window].id
        late = set(self.rng.sample(range(len(plan)), k=min(len(plan), 2 if len(plan) > 4 else 1))) if plan else set()
        start = max(now, opens - timedelta(minutes=40))
        for i, (person, wid, role) in enumerate(plan):
            arrive = (opens + timedelta(minutes=self.rng.uniform(3, 25)) if i in late
                      else opens - timedelta(minutes=self.rng.uniform(2, 25)))
            agent = Agent(self, person, wid, role, max(arrive, now), closes + timedelta(minutes=self.rng.uniform(1, 10)))
            first = opens + timedelta(minutes=self.rng.uniform(30, 150))
            if self.rng.random() < 0.6:
                agent.pauses.append((first, self.rng.uniform(3, 8), False))
            self.agents.append(agent)
        if self.agents:  # one long step-away (over the limit) per hall and day
            limit = self.cfg.business.rules.step_away_limit_minutes
            by_sign_off = (day.toordinal() + self.index) % 2 == 1  # every other day [C 9(4)]
            per_dept = Counter(self.window_dept[a.window] for a in self.agents)
            # signing off leaves the queue to a colleague's window (else it would be refused)
            shared = [a for a in self.agents if per_dept[self.window_dept[a.window]] > 1]
            victim = self.rng.choice(shared if by_sign_off and shared else self.agents)
            victim.pauses.append((opens + timedelta(minutes=self.rng.uniform(160, 200)),
                                  limit + self.rng.uniform(3, 8), by_sign_off))
            victim.pauses.sort()
        # doors and power: open at the start; closed once the last staff member has gone (see step)
        self.plan = [(start, "open", self._open_hall)]
        self.closes, self.hall_closed = closes, False
        self._leave_actions(day, case, self.on_leave, coverable, a_of, opens)
        if self.manager_day(day):
            self.plan.append((opens + timedelta(minutes=self.rng.uniform(100, 150)), "complaint", self._complaint))
        self.next_visitor = max(now, opens - timedelta(minutes=5))
        if self.booked is not None:  # booked visitors: slots at central, check-in at the kiosk
            self.plan += self.booked.plan_day(day, now, periods)

    # ------------------------------------------------------------------ leave paperwork
    def _head_of(self, department: str):
        """The agent of the department's head (首席代表/窗口负责人) working today, if any."""
        return next((a for a in self.agents if a.staff.head and a.staff.department == department), None)

    def _staff(self, staff_id: str):
        return next(s for s in self.cfg.business.staff if s.id == staff_id)

    def _manager_client(self) -> httpx.Client | None:
        """The hall manager's session (signed in at /manage/login with the demo's password, once);
        None when the hall has no manager the demo can sign in as."""
        if self._manager is None:
            m = next(iter(self.cfg.business.managers), None)
            if m is None:
                return None
            client = httpx.Client(base_url=self.base, timeout=10.0, headers={"origin": self.base})
            try:
                client.post("/manage/login", data={"manager": m.id, "password": DEMO_MANAGER_PASSWORD})
            except httpx.HTTPError as e:
                self._error(f"manager sign-in: {type(e).__name__} {e}", "manager")
                client.close()
                return None
            self._manager = client
        return self._manager

    def _manager_post(self, path: str, body: dict) -> dict | None:
        """POST JSON to the hall's API as the hall manager."""
        client = self._manager_client()
        return None if client is None else self.post(path, body, client=client, who="manager")

    def _manager_form(self, path: str, form: dict) -> bool:
        """POST a form of the manager's pages (answered by a redirect back to the page)."""
        client = self._manager_client()
        if client is None:
            return False
        try:
            r = client.post(path, data=form)
        except httpx.HTTPError as e:
            self._error(f"POST {path}: {type(e).__name__} {e}", "manager")
            return False
        if r.status_code >= 400:
            self._error(f"POST {path}: {r.status_code}", "manager")
            return False
        return True

    def manager_day(self, day: date) -> bool:
        """Whether the manager's desk work (a complaint, a manual closing check) is this hall's
        turn today: one hall of three a day."""
        return (day.toordinal() + self.index) % 3 == 0

    def _complaint(self) -> None:
        if not self.agents:
            return
        a = self.rng.choice(self.agents)
        self._manager_form("/manage/complaints", {
            "channel": "窗口", "complexity": "一般", "window": a.window, "staff": a.staff.id, "item": "",
            "complainant": "来访群众（模拟）", "content": "等候时间较长，窗口解释不够清楚（模拟）"})

    def _manual_closing_check(self) -> None:
        self._manager_form("/manage/closing/manual", {"doors": "on", "power": "on", "note": "巡查确认（模拟）"})

    def _paperwork(self, department: str, at: datetime, action: Callable[[Callable], None], staff_id: str) -> None:
        """`action(post)` done by the department's head once signed on today, else by the hall
        manager at `at` (a department without a head, or the head's own leave [C 9(1)])."""
        head = self._head_of(department)
        if head is not None and head.staff.id != staff_id:
            head.after_sign_on.append(lambda a: action(a.post))
        else:
            self.plan.append((at, "leave", lambda: action(self._manager_post)))

    def _leave_actions(self, day: date, case: str, absent_id: str | None, coverable: list[str], a_of: dict,
                       opens: datetime) -> None:
        """Today's leave paperwork (see LEAVE_CYCLE)."""
        at = opens + timedelta(minutes=20)
        for staff_id, (leave_id, back) in list(self.returning.items()):
            if back == day:  # 销假: back a day early, recorded at their own first sign-on [C 9]
                del self.returning[staff_id]
                me = next((a for a in self.agents if a.staff.id == staff_id), None)
                if me is not None:
                    me.after_sign_on.append(lambda a, lid=leave_id: a.post(
                        f"/api/leave/{lid}/return", {"returned": day.isoformat(), "returned_half": "am"}))
        for when, staff_id in self.unfiled:  # 事后补办 [J 28]: an earlier day's unexplained absence
            self._paperwork(self._staff(staff_id).department, at, lambda post, w=when, sid=staff_id: self._file(
                post, sid, "personal", w, w, reason="突发家事，当日未能请假（模拟，事后补办）"), staff_id)
        self.unfiled = []
        if case == "annual_ahead":  # 年假 for the next working day, the home department consents [C 9(3)]
            nxt = self.cal.add_working_days(day, 1)
            candidates = [w for w in coverable if a_of[w].id not in self.returning]
            if candidates:
                staff = a_of[self.rng.choice(candidates)]
                self.leave_plan.setdefault(nxt, set()).add(staff.id)
                self._paperwork(staff.department, at, lambda post, sid=staff.id: self._file(
                    post, sid, "annual", nxt, nxt, reason="年休假（模拟）", note="派出部门人事科电话同意（模拟）"), staff.id)
            return
        if absent_id is None:
            return
        if case == "unfiled":
            self.unfiled.append((day, absent_id))  # nobody files it today
            return
        if case == "sick_two_days":
            back = self.cal.add_working_days(day, 1)

            def two_days(post: Callable, sid: str = absent_id) -> None:
                lid = self._file(post, sid, "sick", day, back, reason="发烧（模拟）", certificate=True, note="同意，B岗顶岗")
                if lid:
                    self.returning[sid] = (lid, back)
            self._paperwork(self._staff(absent_id).department, at, two_days, absent_id)
            return
        self._paperwork(self._staff(absent_id).department, at, lambda post, sid=absent_id: self._file(
            post, sid, "sick", day, day, reason="发烧（模拟）", certificate=True, note="同意，B岗顶岗"), absent_id)

    def _file(self, post: Callable, staff_id: str, kind: str, start: date, end: date, reason: str,
              certificate: bool = False, note: str = "") -> str | None:
        """File leave for a colleague and approve it (a head, or the hall manager): the leave's id."""
        lv = post("/api/leave", {"kind": kind, "start": start.isoformat(), "end": end.isoformat(),
                                 "staff": staff_id, "reason": reason, "certificate": certificate})
        if isinstance(lv, dict) and lv.get("id"):
            post(f"/api/leave/{lv['id']}/approve", {"note": note})
            return lv["id"]
        return None

    def _open_hall(self) -> None:
        for d in self.doors:
            self.pin(d, "release")  # open
        for p in self.power:
            self.pin(p, "press")  # on

    def _close_hall(self) -> None:
        for p in self.power:
            self.pin(p, "release")
        for d in self.doors[:-1]:
            self.pin(d, "press")  # closed; the last one is left open until later

    # ------------------------------------------------------------------ one step
    def step(self, now: datetime) -> None:
        day = self.cal.local_date(now)
        if day != self.day:
            self.plan_day(day, now)
        due = [p for p in self.plan if p[0] <= now]
        self.plan = [p for p in self.plan if p[0] > now]
        for _, _, action in due:
            action()
        if (not self.hall_closed and self.closes is not None and now >= self.closes
                and all(a.state == "gone" for a in self.agents)):
            # the last one out switches off and shuts the doors, but leaves one open until the
            # closing check has alarmed (check_within_minutes after the service ended), then shuts it
            self.hall_closed = True
            self.plan.append((now + timedelta(minutes=2), "close", self._close_hall))
            if self.doors:
                late_door = self.doors[-1]
                self.plan.append((now + timedelta(minutes=self.check_within_minutes + 12), "door",
                                  lambda: self.pin(late_door, "press")))
            if self.manager_day(day):  # the manager's own round once everything is shut
                self.plan.append((now + timedelta(minutes=self.check_within_minutes + 16), "manual check",
                                  self._manual_closing_check))
        if self.next_visitor is not None and self.in_service_items:
            while self.next_visitor <= now:
                at = self.next_visitor
                if self._issuing(at) and self._issuing(now):
                    item = self._pick_item()
                    taken = self.post("/api/tickets", {"item": item["id"]}, who="kiosk") if item is not None else None
                    if taken is not None:
                        self.stats.issued += 1
                        self.first_ticket = self.first_ticket or taken.get("id")  # the demo shows its phone page
                rate = HOURLY.get(self.cal.local(at).hour, 0.1) * PER_WINDOW_HOUR * max(1, len(self.agents)) * self.load
                self.next_visitor = at + timedelta(hours=self.rng.expovariate(max(rate, 0.05)))
        queue = self.request("GET", "/api/queue") or []
        self.waiting = {q.get("department") or q.get("id"): q.get("waiting", 0) for q in queue}
        for a in self.agents:
            a.step(now, self.waiting)

    def _pick_item(self) -> dict | None:
        """A visitor's item: departments in proportion to the windows serving them now (so no
        queue grows without bound), then any of that department's items. None while no window
        is open: the kiosk offers nothing then (the hall's rules.issue_without_open_window)."""
        staffed = [self.window_dept[a.window] for a in self.agents if a.state not in ("away", "gone")]
        depts = sorted({i["department"] for i in self.in_service_items} & set(staffed))
        if not depts:
            return None
        dept = self.rng.choices(depts, weights=[staffed.count(d) for d in depts])[0]
        return self.rng.choice([i for i in self.in_service_items if i["department"] == dept])

    def _issuing(self, at: datetime) -> bool:
        """Open, or shortly before the first period (numbers may be taken early)."""
        if self.cal.is_open(at):
            return True
        periods = self.cal.periods_on(self.cal.local_date(at))
        return bool(periods) and periods[0][0] - timedelta(minutes=10) <= at < periods[0][0]

    def close(self) -> None:
        for a in self.agents:
            a.close()
        if self.booked is not None:
            self.booked.close()
        if self._manager is not None:
            self._manager.close()
        self.http.close()
