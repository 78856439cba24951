"""The hall's store: the event log and its projections in one SQLite file.

Only this package touches peewee. The log, its epochs and the dispatch of appended events are
in `edge.store.log`; each capability has one module with its views (msgspec structs callers
receive, never models), its tables, its projection rules and its queries: `queue` (tickets,
number counters), `windows`, `cases` (cases, hand-overs), `attendance` (punches, unknown
cards, leaves), `presence` (staffing intervals, step-aways), `ratings` (ratings,
follow-ups), `closing`, `devices`, `appointments` (bookings from central, check-ins); `outbox`
holds the hall's own, unreplicated tables of result notices (phone numbers, messages). `Store`
puts them together.
"""

from __future__ import annotations

from . import appointments, attendance, cases, closing, devices, presence, queue, ratings, windows
from .outbox import OutboxQueries
from .log import LogStore, part_of


class Store(queue.QueueQueries, windows.WindowQueries, cases.CaseQueries, attendance.AttendanceQueries,
            presence.PresenceQueries, ratings.RatingQueries, closing.ClosingQueries, devices.DeviceQueries,
            OutboxQueries, appointments.AppointmentQueries, LogStore):
    """Event log + every capability's projections and queries. Each event kind's rules run in
    this order of parts."""

    PARTS = [part_of(m) for m in (queue, windows, cases, attendance, presence, ratings, closing, devices,
                                  appointments)]
