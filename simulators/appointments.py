"""Booked visitors in the campus simulation (预约): each open day a few visitors of a hall book
a slot of an item marked `appointment = true` on central's API (as an external booking system
would), then come to the hall's kiosk and check in with their code (`POST /kiosk/checkin`, the
kiosk's form): most inside the window (their ticket is called ahead of walk-ins), some late
(a walk-in ticket), some never (a no-show at central). Driven by `campus.HallSim` (no thread,
no sleep): `plan_day` answers the hall-level actions of the day."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Callable

import httpx

PER_DAY = 6  # bookings per hall and open day
SLOT = timedelta(minutes=30)  # config/central.toml [appointments] slot_minutes


class BookedVisitors:
    def __init__(self, hall: str, items: list[str], hall_url: str, central_url: str, login: tuple[str, str],
                 rng: random.Random, log: Callable[[str], None] = print) -> None:
        self.hall, self.items, self.rng, self.log = hall, items, rng, log
        self.hall_url = hall_url
        self.central = httpx.Client(base_url=central_url, auth=login, timeout=10.0)
        self.kiosk = httpx.Client(base_url=hall_url, timeout=10.0, headers={"Origin": hall_url})
        self.stats: Counter = Counter()

    def plan_day(self, day: date, now: datetime, periods: list[tuple[datetime, datetime]]) -> list[tuple]:
        """Book today's slots at central; answer (when, label, action) of each check-in."""
        if not self.items or not periods:
            return []
        out = []
        for _ in range(PER_DAY):
            start, end = self.rng.choice(periods)
            slots = [start + k * SLOT for k in range(int((end - start) / SLOT)) if start + k * SLOT > now]
            if not slots:
                continue
            slot = self.rng.choice(slots)
            body = {"hall": self.hall, "item": self.rng.choice(self.items), "start": slot.isoformat(),
                    "phone": f"139{self.rng.randrange(10**8):08d}"}
            try:
                r = self.central.post("/api/appointments", json=body)
            except httpx.HTTPError as e:
                self.log(f"  ! {self.hall}: booking at central failed: {type(e).__name__}")
                continue
            if r.status_code != 201:
                self.stats[f"refused {r.status_code}"] += 1
                continue
            code = r.json()["code"]
            self.stats["booked"] += 1
            fate = self.rng.random()
            if fate < 0.15:
                continue  # a no-show
            at = slot + timedelta(minutes=self.rng.uniform(20, 40)) if fate < 0.3 else (
                slot - timedelta(minutes=self.rng.uniform(0, 25)))
            out.append((max(at, now), "checkin", lambda code=code: self.check_in(code)))
        return out

    def check_in(self, code: str) -> None:
        try:
            r = self.kiosk.post("/kiosk/checkin", data={"entry": code}, follow_redirects=False)
        except httpx.HTTPError as e:
            self.log(f"  ! {self.hall}: kiosk check-in failed: {type(e).__name__}")
            return
        to = r.headers.get("location", "")
        if to.startswith("/kiosk/tickets/"):
            self.stats["checked_in"] += 1
            self.log(f"  {self.hall}: 预约签到 {code} → {self.hall_url}{to}")
        else:
            self.stats["refused"] += 1

    def close(self) -> None:
        self.central.close()
        self.kiosk.close()
