"""Plain paho clients for proving the broker and network-fault infrastructure (tests/brokers.py,
tests/netfaults.py): `Peer` counts what it sees and lets a test wait for it."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import unquote, urlsplit

from paho.mqtt.client import CallbackAPIVersion, Client, MQTTMessageInfo
from paho.mqtt.enums import MQTTProtocolVersion

WAIT = 5.0  # bound for anything that should happen promptly


class Peer:
    """A paho 2.x client on its own network thread; what it sees is counted, and can be awaited."""

    def __init__(self, name: str, *, keepalive: int = 60, client_id: str | None = None,
                 clean_session: bool | None = None, username: str | None = None,
                 password: str | None = None, protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311) -> None:
        self.name = name
        self.keepalive = keepalive
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{name}-{uuid.uuid4().hex[:8]}",
            clean_session=clean_session,
            protocol=protocol,
        )
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        if username is not None:
            self.client.username_pw_set(username, password)
        self._cond = threading.Condition()
        self.connects = 0  # successful CONNACKs
        self.refusals = 0  # failed CONNACKs or failed connection attempts
        self.refused_with: list[str] = []  # the reason of each failed CONNACK
        self.disconnects = 0
        self.subacks = 0
        self.granted: list[list[bool]] = []  # per SUBACK: was each filter granted?
        self.messages: list[tuple[str, bytes, bool]] = []
        self._topics: list[tuple[str, int]] = []
        c = self.client
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message

    # -- callbacks (paho's thread) ----------------------------------------------------------
    def _bump(self, attr: str) -> None:
        with self._cond:
            setattr(self, attr, getattr(self, attr) + 1)
            self._cond.notify_all()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused_with.append(str(reason_code))
            self._bump("refusals")
            return
        for topic, qos in self._topics:  # a clean session forgets subscriptions
            client.subscribe(topic, qos)
        self._bump("connects")

    def _on_connect_fail(self, client, userdata) -> None:
        self._bump("refusals")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._bump("disconnects")

    def _on_subscribe(self, client, userdata, mid, reason_code_list, properties) -> None:
        with self._cond:
            self.granted.append([not rc.is_failure for rc in reason_code_list])
        self._bump("subacks")

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    # -- driving ----------------------------------------------------------------------------
    def wait(self, predicate, timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def start(self, url: str, *, ca: str | None = None) -> "Peer":
        """Connect in the background (paho retries until it gets in); do not wait. Credentials in
        `url` (tests.brokers.Broker.url_for) are used; else the constructor's `username`."""
        u = urlsplit(url)
        if u.username:
            self.client.username_pw_set(unquote(u.username), unquote(u.password or ""))
        if u.scheme == "mqtts":
            self.client.tls_set(ca_certs=ca)
        self.client.connect_async(u.hostname, u.port, keepalive=self.keepalive)
        self.client.loop_start()
        return self

    def connect(self, url: str, *, ca: str | None = None, timeout: float = WAIT) -> "Peer":
        self.start(url, ca=ca)
        assert self.wait(lambda: self.connects >= 1, timeout), f"{self.name} did not connect to {url}"
        return self

    def subscribe(self, topic: str, qos: int = 1) -> None:
        assert self.try_subscribe(topic, qos), f"{self.name}: the broker refused the subscription to {topic}"

    def try_subscribe(self, topic: str, qos: int = 1) -> bool:
        """Subscribe and wait for the SUBACK; whether the broker granted it."""
        self._topics.append((topic, qos))
        before = self.subacks
        self.client.subscribe(topic, qos)
        assert self.wait(lambda: self.subacks > before), f"{self.name}: no SUBACK for {topic}"
        with self._cond:
            return all(self.granted[-1])

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        assert info.rc == 0, f"{self.name}: publish not queued: rc={info.rc}"
        return info

    def payloads(self) -> list[bytes]:
        with self._cond:
            return [p for _t, p, _r in self.messages]

    def received(self, payload: bytes, timeout: float = WAIT) -> bool:
        return self.wait(lambda: any(p == payload for _t, p, _r in self.messages), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def acked(info: MQTTMessageInfo, timeout: float = WAIT) -> bool:
    """Did the QoS 1 publish get its PUBACK within `timeout`?"""
    info.wait_for_publish(timeout)
    return info.is_published()


def roundtrip(pub: Peer, sub: Peer, topic: str, payload: bytes) -> None:
    assert acked(pub.publish(topic, payload)), f"no PUBACK for {payload!r}"
    assert sub.received(payload), f"{payload!r} not delivered; got {sub.payloads()}"
