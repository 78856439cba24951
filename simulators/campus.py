"""Staff and visitor behaviour of one hall, over its HTTP API, on the simulated clock.

`HallSim` owns no thread and never sleeps: the demo calls `step(now)` with the hall's simulated
time, often; every action due by then is sent. A day of a hall (planned from its configuration,
its calendar and the windows in service, seeded-random):

- doors open and power on before opening; staff arrive before the first period (a few late),
  each badges at the hall reader first (`POST /api/sim/badge`, where the hall has one) and signs
  on at the window with the console PIN; one A-role staff member is on leave (filed by a head of
  the department and approved, when there is one) and the B-role backup covers the window;
- visitors arrive by hour of day (a morning peak) for items whose window is in service;
- windows call, the visitor comes (`/start`), the service takes about the item's
  `service_minutes`, and ends with an outcome: mostly instant, also promised, joint, notice,
  gaps, refused (with their required fields); now and then a visitor does not come (two
  recalls, then no-show);
- ratings pressed on the rating buttons after a service, where the window has them;
- step-aways: short ones (3–8 min) and one long one (over the limit), with the pause button
  where there is one, else the console's pause/resume;
- numbers taken before closing are still served (up to the hall's `max_extension_minutes`);
  then staff sign off and badge out; the last one out switches the power off and shuts the
  doors but one, which stays open until the closing check has alarmed, then is shut.
- visitors pick a department in proportion to the windows serving it today, so no queue grows
  without bound.

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
from sync.kernel.calendar import HallCalendar
from sync.kernel.schedule import Schedule, on_shift

PIN = "1234"
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
        self.pauses: list[tuple[datetime, float]] = []  # (when, minutes)
        self.pause_until: datetime | None = None
        self.item: dict | None = None
        self.on_signed_on: Callable[["Agent"], None] | None = None

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
                if self.on_signed_on:
                    self.on_signed_on(self)
            self.next_at = now + timedelta(seconds=30)
        elif self.state == "idle":
            if self.pauses and now >= self.pauses[0][0]:
                _, minutes = self.pauses.pop(0)
                if self.sim.pause_pin(self.window, self.http):
                    self.state, self.pause_until = "paused", now + timedelta(minutes=minutes)
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
                self.post(f"{w}/sign-off")
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
                self.sim.pause_pin(self.window, self.http, resume=True)
                self.state, self.pause_until = "idle", None
            self.next_at = now + timedelta(seconds=30)

    def close(self) -> None:
        self.http.close()


class HallSim:
    def __init__(self, cfg: EdgeConfig, base_url: str, rng: random.Random,
                 log: Callable[[str], None] = print, load: float = 1.0) -> None:
        self.cfg, self.base, self.rng, self.log, self.load = cfg, base_url, rng, log, load
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
        self.last_error = ""
        self.unreachable = 0  # requests failed in a row because the hall did not answer
        self.first_ticket: str | None = None  # the id of the first number the simulated visitors took
        self.booked = None  # simulators.appointments.BookedVisitors: the demo sets it (central's API)

    # ------------------------------------------------------------------ HTTP, errors logged
    def request(self, method: str, path: str, body: dict | None = None, client: httpx.Client | None = None,
                who: str = "") -> dict | list | None:
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
            self._error(f"{method} {path}: {r.status_code} {detail}", who)
            return None
        return r.json() if r.content else {}

    def post(self, path: str, body: dict | None = None, client: httpx.Client | None = None, who: str = ""):
        return self.request("POST", path, body, client, who)

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
        leave_window = None if roster else self.rng.choice([w for w in a_of if a_of[w] and b_of[w]] or [None])
        for w in windows:
            wid, a = w["id"], a_of[w["id"]]
            duty = next((s for s in staff if s.id in roster.get(wid, ()) and s.id not in used), None)
            if duty is not None:
                used.add(duty.id)
                plan.append((duty, wid, "duty"))
                continue
            person, role = (a, "A") if a and wid != leave_window and a.id not in used else (None, None)
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
                agent.pauses.append((first, self.rng.uniform(3, 8)))
            self.agents.append(agent)
        if self.agents:  # one long step-away (over the limit) per hall and day
            limit = self.cfg.business.rules.step_away_limit_minutes
            victim = self.rng.choice(self.agents)
            victim.pauses.append((opens + timedelta(minutes=self.rng.uniform(160, 200)), limit + self.rng.uniform(3, 8)))
            victim.pauses.sort()
        if self.on_leave:
            self._file_leave_by_head(day)
        # doors and power: open at the start; closed once the last staff member has gone (see step)
        self.plan = [(start, "open", self._open_hall)]
        self.closes, self.hall_closed = closes, False
        self.next_visitor = max(now, opens - timedelta(minutes=5))
        if self.booked is not None:  # booked visitors: slots at central, check-in at the kiosk
            self.plan += self.booked.plan_day(day, now, periods)

    def _file_leave_by_head(self, day: date) -> None:
        absent = next(s for s in self.cfg.business.staff if s.id == self.on_leave)
        head = next((a for a in self.agents if a.staff.head and a.staff.department == absent.department), None)
        if head is None:
            return

        def file(agent: Agent) -> None:
            lv = agent.post("/api/leave", {"kind": "sick", "start": day.isoformat(), "end": day.isoformat(),
                                           "staff": absent.id, "reason": "发烧（模拟）", "certificate": True})
            if isinstance(lv, dict) and lv.get("id"):
                agent.post(f"/api/leave/{lv['id']}/approve", {"note": "同意，B岗顶岗"})

        head.on_signed_on = file

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
        self.http.close()
