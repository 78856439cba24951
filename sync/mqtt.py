"""The MQTT transport: the only module that imports paho.

`BrokerUrl` is a `sync.transport.Endpoint` and the `Link` it opens a `sync.transport.Transport`.
`Link` wraps one paho 2.x client. It connects in the background and reconnects with backoff,
re-subscribes on every connect, and publishes only while connected: paho's own queue is memory
only, so the replication protocol above keeps its own state and resends from its log instead.
Callbacks run on paho's network thread and must be quick.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .transport import MessageHandler

log = logging.getLogger("onestop.sync.mqtt")


@dataclass(frozen=True)
class BrokerUrl:
    tls: bool
    host: str
    port: int
    username: str = ""
    password: str = ""

    def __str__(self) -> str:  # never print the password
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"

    def open(self, client_id: str, **options: Any) -> Link:
        """The `Link` of `client_id` to this broker (sync.transport.Endpoint): `options` are the
        keyword arguments of `Link` (subscriptions, on_message, …, protocol, ca_file)."""
        return Link(self, client_id, **options)


def parse_broker_url(url: str, username: str = "", password: str = "") -> BrokerUrl:
    """`mqtt://[user:pass@]host:port` or `mqtts://…`. Raises ValueError with a clear message."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"broker URL must start with mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"broker URL has no host: {url!r}")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise ValueError(f"broker URL has a bad port: {url!r}") from None
    return BrokerUrl(
        tls=parts.scheme == "mqtts",
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else username,
        password=unquote(parts.password) if parts.password else password,
    )


def _client(broker: "BrokerUrl", client_id: str, protocol: int, *, persistent: bool, ca_file: str | None = None,
            insecure: bool = False) -> paho.Client:
    """A paho client for `broker` with its credentials and TLS; `persistent`: on MQTT 3.1.1 a
    session the broker keeps while we are away (MQTT 5 sets its expiry at connect)."""
    if protocol == 5:
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    else:
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311,
                        clean_session=not persistent)
    if broker.username:
        c.username_pw_set(broker.username, broker.password or None)
    if broker.tls:
        c.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_NONE if insecure else ssl.CERT_REQUIRED)
        if insecure:
            c.tls_insecure_set(True)
    return c


class Link:
    def __init__(
        self,
        broker: BrokerUrl,
        client_id: str,
        *,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_message: MessageHandler | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        will: tuple[str, bytes] | None = None,
        protocol: int = 5,
        session_expiry: int = 7 * 86400,
        keepalive: int = 15,
        ca_file: str | None = None,
        insecure: bool = False,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self.protocol = protocol
        self.keepalive = keepalive
        self._session_expiry = session_expiry
        self._connected = threading.Event()
        # MQTT 3.1.1: a persistent session, so QoS 1 messages for us wait at the broker while we are away
        c = _client(broker, client_id, protocol, persistent=True, ca_file=ca_file, insecure=insecure)
        if will is not None:
            c.will_set(will[0], will[1], qos=1, retain=True)
        c.reconnect_delay_set(min_delay=1, max_delay=15)
        c.max_inflight_messages_set(100)
        c.on_connect = self._connected_cb
        c.on_disconnect = self._disconnected_cb
        c.on_message = self._message_cb
        self.client = c

    # -- lifecycle

    def start(self) -> None:
        props = None
        if self.protocol == 5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self._session_expiry
            self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.keepalive,
                                      clean_start=False, properties=props)
        else:
            self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.keepalive)
        self.client.loop_start()

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly; `final` is published (retained) first when connected."""
        if final is not None and self.connected:
            info = self.client.publish(final[0], final[1], qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- publishing

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message to paho if connected. True means queued for sending, nothing more."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == paho.MQTT_ERR_SUCCESS

    # -- paho callbacks (network thread)

    def _connected_cb(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker %s refused %s: %s", self.broker, self.client_id, reason_code)
            return
        for topic, qos in self.subscriptions:
            client.subscribe(topic, qos=qos)
        self._connected.set()
        log.info("connected to %s as %s", self.broker, self.client_id)
        if self._on_connect:
            self._on_connect()

    def _disconnected_cb(self, client, userdata, flags, reason_code, properties) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was:
            log.info("disconnected from %s: %s", self.broker, reason_code)
        if self._on_disconnect:
            self._on_disconnect()

    def _message_cb(self, client, userdata, msg) -> None:
        if self._on_message is None:
            return
        try:
            self._on_message(msg.topic, msg.payload)
        except Exception:  # noqa: BLE001 - a bad message never kills the network thread
            log.exception("handling a message on %s failed", msg.topic)


# -- a one-shot check of a broker account (onestop-edge doctor, onestop-central doctor) ----------


@dataclass
class ProbeResult:
    """What a broker answered one short session: `refused` is the CONNACK's reason ("" when
    connected, the socket error when the broker could not be reached); `granted` maps each
    subscribed filter to whether the broker granted it; `published` each published topic to
    True (accepted), False (refused: MQTT 5 only) or None (no answer, or MQTT 3.1.1, which
    cannot say); `messages` holds what arrived, in order."""

    connected: bool = False
    refused: str = ""
    granted: dict[str, bool] | None = None
    published: dict[str, bool | None] | None = None
    messages: list[tuple[str, bytes]] | None = None


def probe(broker: BrokerUrl, client_id: str, *, subscribe: Sequence[str] = (),
          publish: Sequence[tuple[str, bytes]] = (), wait: Callable[[ProbeResult], bool] | None = None,
          timeout: float = 5.0, protocol: int = 5, ca_file: str | None = None) -> ProbeResult:
    """Connect once (clean session), subscribe to each of `subscribe` and publish (QoS 1) each
    of `publish`, then collect messages until every answer is in and `wait(result)` is true, or
    `timeout` seconds have passed; disconnect. Never raises for a broker fault: the result says what happened."""
    result = ProbeResult(granted={}, published={}, messages=[])
    answered = threading.Event()
    acked = threading.Condition()
    pending_sub: dict[int, str] = {}
    pending_pub: dict[int, str] = {}
    v5 = protocol == 5
    c = _client(broker, client_id, protocol, persistent=False, ca_file=ca_file)

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        result.connected = not reason_code.is_failure
        result.refused = "" if result.connected else str(reason_code)
        answered.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        with acked:
            topic = pending_sub.pop(mid, None)
            if topic is not None:
                result.granted[topic] = not any(rc.is_failure for rc in reason_codes)
            acked.notify_all()

    def on_publish(client, userdata, mid, reason_code, properties) -> None:
        with acked:
            topic = pending_pub.pop(mid, None)
            if topic is not None:
                result.published[topic] = (not reason_code.is_failure) if v5 else None
            acked.notify_all()

    def on_message(client, userdata, msg) -> None:
        with acked:
            result.messages.append((msg.topic, bytes(msg.payload)))
            acked.notify_all()

    c.on_connect, c.on_subscribe, c.on_publish, c.on_message = on_connect, on_subscribe, on_publish, on_message
    c.on_disconnect = lambda *a: answered.set()
    try:
        if v5:
            c.connect(broker.host, broker.port, keepalive=15, clean_start=True)
        else:
            c.connect(broker.host, broker.port, keepalive=15)
    except (OSError, ssl.SSLError, ValueError) as e:
        result.refused = f"cannot reach {broker.host}:{broker.port}: {e}"
        return result
    c.loop_start()
    try:
        if not answered.wait(timeout) or not result.connected:
            result.refused = result.refused or f"no answer from {broker} within {timeout:g} s"
            result.connected = False
            return result
        with acked:
            for topic in subscribe:
                rc, mid = c.subscribe(topic, qos=1)
                if rc == paho.MQTT_ERR_SUCCESS:
                    pending_sub[mid] = topic
            for topic, payload in publish:
                info = c.publish(topic, payload, qos=1)
                if info.rc == paho.MQTT_ERR_SUCCESS:
                    pending_pub[info.mid] = topic
            deadline = threading.Event()
            timer = threading.Timer(timeout, lambda: (deadline.set(), _notify(acked)))
            timer.start()
            try:
                while not deadline.is_set() and (pending_sub or pending_pub
                                                  or (wait is not None and not wait(result))):
                    acked.wait(0.5)
            finally:
                timer.cancel()
        for topic in publish:
            result.published.setdefault(topic[0], None)
        result.connected = c.is_connected() or result.connected
        return result
    finally:
        c.disconnect()
        c.loop_stop()


def _notify(cond: threading.Condition) -> None:
    with cond:
        cond.notify_all()
