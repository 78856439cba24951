"""Simulated visitors: they take numbers at the kiosk, over the hall's HTTP API.

`Visitors` is driven from outside (the demo's loop asks it when the next visitor is due and
tells it to send one), so it owns no thread and never sleeps. Arrivals are seeded-random: one
visitor every `gap` simulated seconds, uniform in [gap_min, gap_max], for an item chosen at
random among the items whose department has a window in service today. While the hall is
closed no visitor comes (the hall would refuse the number anyway).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .client import Client


def items_in_service(client: Client) -> list[dict]:
    """Items of the hall whose department has a window in service today (GET /api/catalog and
    GET /api/windows)."""
    catalog = client.get("/api/catalog")
    serving = {w["department"] for w in client.get("/api/windows") if w.get("in_service")}
    return [i for i in catalog["items"] if i["department"] in serving]


@dataclass
class Visitors:
    client: Client
    rng: random.Random
    gap_min: float = 20.0  # simulated seconds between two visitors
    gap_max: float = 60.0
    is_open: Callable[[datetime], bool] = lambda _at: True
    items: list[dict] = field(default_factory=list)
    issued: int = 0
    refused: Counter = field(default_factory=Counter)
    last_number: str = ""

    def load_items(self) -> list[dict]:
        self.items = items_in_service(self.client)
        return self.items

    def next_gap(self) -> float:
        """Simulated seconds until the next visitor."""
        return self.rng.uniform(self.gap_min, self.gap_max)

    def arrive(self, sim_now: datetime) -> dict | None:
        """One visitor takes a number, if the hall is open. Returns the ticket, or None."""
        if not self.is_open(sim_now):
            return None
        if not self.items:
            self.load_items()
            if not self.items:
                self.refused["no-item-in-service"] += 1
                return None
        item = self.rng.choice(self.items)
        status, body = self.client.request("POST", "/api/tickets", {"item": item["id"]})
        if status == 201:
            self.issued += 1
            self.last_number = body["number"]
            return body
        code = body.get("code", str(status)) if isinstance(body, dict) else str(status)
        self.refused[code] += 1
        if code == "no-window-today":  # a new day: other windows are in service
            self.items = []
        return None
