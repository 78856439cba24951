"""A badge reader through its real boundary: frames written into a pty, read by pyserial on the
reader's thread; the pty unplugged and plugged again."""

from __future__ import annotations

import threading

import pytest

from devices.badge import BadgeReader
from devices.frames import line_frame, rdm6300_frame
from devices.ptyport import PtyPort
from tests.conftest import wait_until

CARD = "0A00C3D2F1"


@pytest.fixture
def port(tmp_path):
    p = PtyPort(tmp_path / "ttyBADGE0")
    yield p
    p.close()


@pytest.fixture
def make_reader(port):
    made: list[BadgeReader] = []

    def make(protocol: str = "rdm6300", path: str | None = None, **kw) -> tuple[BadgeReader, list, list]:
        cards: list = []
        events: list = []
        r = BadgeReader("hall", path or port.path, protocol, on_card=lambda n, c: cards.append(c),
                        on_fault=lambda n, m: events.append(("fault", m)),
                        on_recovered=lambda n: events.append(("recovered",)), reopen_min=0.02, reopen_max=0.1, **kw)
        made.append(r)
        r.start()
        return r, cards, events

    yield make
    for r in made:
        r.stop()


def test_badge_reader_reads_a_card_from_the_pty(port, make_reader):
    r, cards, _ = make_reader()
    wait_until(lambda: r.state == "ok", what="port open")
    port.write(rdm6300_frame(CARD))
    wait_until(lambda: cards, what="card")
    assert cards == [CARD]
    assert r.health()["state"] == "ok" and r.cards == 1


def test_badge_reader_counts_a_held_card_once(port, make_reader, clock):
    # held-card detection on the manual clock's monotonic seconds (as edge.hardware wires it)
    r, cards, _ = make_reader(ticks=lambda: clock.monotonic() / 1e9, hold_seconds=1.0)
    wait_until(lambda: r.state == "ok")
    port.write(rdm6300_frame(CARD) * 8)  # a card on the antenna: the module repeats the frame
    port.write(rdm6300_frame("0A00C3D2F2"))
    wait_until(lambda: r.frames == 9)
    assert cards == [CARD, "0A00C3D2F2"]
    clock.advance(seconds=0.3)
    port.write(rdm6300_frame("0A00C3D2F2") * 3)  # still held (frames keep coming)
    wait_until(lambda: r.frames == 12)
    clock.advance(seconds=2.0)
    port.write(rdm6300_frame(CARD))  # taken away and presented again
    wait_until(lambda: len(cards) == 3)
    assert cards == [CARD, "0A00C3D2F2", CARD]


def test_badge_reader_skips_bad_frames_and_keeps_reading(port, make_reader):
    r, cards, _ = make_reader()
    wait_until(lambda: r.state == "ok")
    port.write(b"\x00noise" + rdm6300_frame(CARD, corrupt=True) + rdm6300_frame(CARD)[:6]
               + rdm6300_frame(CARD, clone=True))
    wait_until(lambda: cards)
    assert cards == [CARD]
    assert r.rejected >= 1


def test_badge_reader_line_protocol(port, make_reader):
    r, cards, _ = make_reader("line")
    wait_until(lambda: r.state == "ok")
    port.write(line_frame("0012835569") + b"garbage!!\r\n" + line_frame("0a00c3d2f1", b"\n"))
    wait_until(lambda: len(cards) == 2)
    assert cards == ["0012835569", "0A00C3D2F1"]
    assert r.rejected == 1


def test_badge_reader_unplugged_faults_once_and_recovers_when_plugged_again(port, make_reader):
    r, cards, events = make_reader()
    wait_until(lambda: r.state == "ok")
    port.unplug()
    wait_until(lambda: r.state == "fault", what="fault")
    assert events[0][0] == "fault"
    import time

    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 > 0.3)  # several reopen attempts fail meanwhile
    assert [e[0] for e in events] == ["fault"], "a fault is reported once, not at every retry"
    port.plug()
    wait_until(lambda: r.state == "ok", what="reopen")
    assert events[-1] == ("recovered",)
    port.write(rdm6300_frame(CARD))
    wait_until(lambda: cards)
    assert r.opens >= 2


def test_badge_reader_missing_port_at_start_is_a_fault_not_an_error(tmp_path, make_reader):
    r, _, events = make_reader(path=str(tmp_path / "no-such-tty"))
    wait_until(lambda: r.state == "fault")
    assert "无法打开" in events[0][1]
    assert r.running  # still trying


def test_badge_reader_stop_ends_its_thread(port, make_reader):
    r, _, _ = make_reader()
    wait_until(lambda: r.state == "ok")
    r.stop()
    assert not r.running
    assert not [t for t in threading.enumerate() if t.name == "badge-hall"]


def test_badge_reader_refuses_an_unknown_protocol(port):
    with pytest.raises(ValueError):
        BadgeReader("x", port.path, "wiegand", on_card=lambda n, c: None)
