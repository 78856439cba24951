"""The port between the replication protocol and a message broker.

`sync.replicator` speaks to the broker only through these two protocols, so a second transport
(or an in-process fake in the tests) needs no paho. `sync.mqtt` is the MQTT implementation:
`BrokerUrl` is an `Endpoint`, and the `Link` it opens is a `Transport`.

Delivery is at least once and nothing more is promised: `publish` answering True means handed
to the transport, not delivered. The replication protocol keeps its own state and resends from
the hall's log, so a transport needs no queue of its own.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, runtime_checkable

MessageHandler = Callable[[str, bytes], None]
"""Called with (topic, payload) for every message on a subscribed topic."""


@runtime_checkable
class Transport(Protocol):
    """One client's link to the broker. Callbacks run on the transport's own thread and must be
    quick; every method may be called from any thread."""

    @property
    def broker(self) -> object:
        """Where the link goes; str() of it is shown to people and never holds a password."""
        ...

    @property
    def connected(self) -> bool: ...

    def start(self) -> None:
        """Connect in the background, and reconnect until stopped; subscribe on every connect."""
        ...

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly; `final` (topic, payload) is published retained first when connected."""
        ...

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message over if connected. True means queued for sending, nothing more."""
        ...


@runtime_checkable
class Endpoint(Protocol):
    """Where a client connects: opens (does not start) its `Transport`."""

    def open(
        self,
        client_id: str,
        *,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_message: MessageHandler | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        will: tuple[str, bytes] | None = None,
        **options: Any,
    ) -> Transport:
        """`subscriptions` are (topic filter, QoS); `will` (topic, payload) is published retained
        by the broker when the link dies; `options` are the implementation's own (for MQTT the
        protocol level and the CA file)."""
        ...
