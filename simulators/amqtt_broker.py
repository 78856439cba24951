"""The embedded amqtt broker (`python -m simulators.amqtt_broker -c conf`), with one race mended.

amqtt 0.12.1 iterates its subscription table (`Broker._subscriptions`, topic filter → sessions)
in loops that await inside: publishing retained messages to a client that has just connected,
and fanning a message out to the matching sessions. A client subscribing to a new filter in that
moment adds a key, the loop raises ``RuntimeError: dictionary changed size during iteration``,
and the connecting client's session dies after its CONNACK: its SUBSCRIBE is never answered
(seen in CI when a campus's halls and a test client connected at once). Here the table is a dict
whose iteration walks a snapshot of its keys, so a loop sees the filters there were when it began
and a filter added meanwhile takes effect for the next message; everything else is amqtt's own
`broker_script`. mosquitto, the production broker, has no such loop.
"""

from __future__ import annotations

from typing import Any


class SnapshotDict(dict):
    """A dict whose iteration (`for k in d`, `keys`, `values`, `items`) walks a copy taken when
    it begins, so the dict may change while a loop over it awaits."""

    def __iter__(self):
        return iter(list(dict.keys(self)))

    def keys(self):  # type: ignore[override]
        return list(dict.keys(self))

    def values(self):  # type: ignore[override]
        return list(dict.values(self))

    def items(self):  # type: ignore[override]
        return list(dict.items(self))


def patch() -> None:
    """Give every amqtt `Broker` created from now on a `SnapshotDict` subscription table."""
    from amqtt.broker import Broker

    if getattr(Broker, "_onestop_snapshot_subscriptions", False):
        return
    original = Broker.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._subscriptions = SnapshotDict(self._subscriptions)

    Broker.__init__ = __init__  # type: ignore[method-assign]
    Broker._onestop_snapshot_subscriptions = True  # type: ignore[attr-defined]


def main() -> None:
    patch()
    from amqtt.scripts import broker_script

    broker_script.main()


if __name__ == "__main__":
    main()
