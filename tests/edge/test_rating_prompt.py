"""The prompt to rate after a service [J 23, U 19, B 23, C 11(7)], 亮身份 on the display board
[J 18, H 5] and the board's voice without the internet, through the real boundaries: MockFactory
pins (rating lamps, the window lamp, rating buttons), the hall's HTTP app, espeak-ng as a
subprocess. The hall runs on the test clock: the rating window closes by moving it."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import msgspec
import pytest

from tests.conftest import EVENTS_TOKEN, HALL_TOML, edge_client, wait_until
from tests.edge.mockpins import mock_pin

WINDOW_SECONDS = 120  # rules.ratings.window_seconds (default) of the test hall

PROMPT_DEVICES = """
[devices]
debounce_ms = 50
blink_seconds = 0.02

[devices.pins]
lamp-W1 = { pin = 17, role = "lamp", window = "W1" }
rate5-W1 = { pin = 5, role = "rating_button", window = "W1", level = 5 }
rate1-W1 = { pin = 26, role = "rating_button", window = "W1", level = 1 }
rlamp5-W1 = { pin = 6, role = "rating_lamp", window = "W1", level = 5 }
rlamp1-W1 = { pin = 13, role = "rating_lamp", window = "W1", level = 1 }
lamp-W2 = { pin = 22, role = "lamp", window = "W2" }
rate5-W2 = { pin = 23, role = "rating_button", window = "W2", level = 5 }
"""

# 亮身份 of 李明: post, photo and pledge added to the test hall's roster
LI_BEFORE = 'phone = "0000-1111-01"\n'
LI_AFTER = LI_BEFORE + 'title = "学籍管理科科员"\nphoto = "s-li.png"\npledge = "微笑服务，一次说清"\n'


def png(width: int = 3, height: int = 4) -> bytes:
    """A small valid PNG (one colour)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x30\x60\x90" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def hall_toml(photos: Path, extra: str = "") -> str:
    assert LI_BEFORE in HALL_TOML
    return (HALL_TOML.replace(LI_BEFORE, LI_AFTER, 1) + PROMPT_DEVICES
            + f'\n[display]\nphotos_dir = "{photos}"\n{extra}')


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    d = tmp_path / "photos"
    d.mkdir()
    (d / "s-li.png").write_bytes(png())
    return d


@pytest.fixture
def phall(tmp_path: Path, photos: Path, clock):
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "prompt-hall.toml"
    p.write_text(hall_toml(photos), encoding="utf-8")
    h = Hall(load(p), tmp_path / "prompt-data", clock)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def hw(phall):
    from edge.hardware import Hardware

    h = Hardware(phall, simulate=True)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def pclient(phall, hw):
    from edge.app import create_app

    with edge_client(create_app(phall, simulate=True, hardware=hw, tick_seconds=3600,
                                events_token=EVENTS_TOKEN)) as c:
        yield c


def serve_one(hall, window: str = "W1", staff: str = "s-li", item: str = "transcript"):
    """Sign on (if needed), take a number, call it and complete it at `window`: a service ends."""
    from edge import cases, presence, queue

    if hall.store.window(window).staff is None:
        hall.call(presence.sign_on, window, staff)
    hall.call(queue.issue, item=item)
    t = hall.call(queue.call_next, window, staff)
    hall.call(cases.complete, window, staff, "instant", item=item)
    return t


def lamps(hw) -> dict[str, str]:
    return {n: hw.board.lamp(n) for n in ("lamp-W1", "rlamp5-W1", "rlamp1-W1", "lamp-W2")}


def ratings(hall) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == "rating.given"]


def press(hw, pin: str, clock) -> None:
    hw.sim_drive(pin, "press")
    hw.drain()
    clock.advance(seconds=1)
    hw.sim_drive(pin, "release")
    hw.drain()


# ---------------------------------------------------------------- lamps


def test_rating_prompt_service_end_blinks_rating_lamps_until_a_button_press(phall, hw, clock):
    """[J 23] After a service the window's rating lamps blink (really toggle on the pin); a
    rating ends the prompt and the lamps go dark. The window's own lamp stays off (not paused)."""
    assert lamps(hw) == {"lamp-W1": "off", "rlamp5-W1": "off", "rlamp1-W1": "off", "lamp-W2": "off"}
    t = serve_one(phall)
    hw.drain()
    assert lamps(hw) == {"lamp-W1": "off", "rlamp5-W1": "blink", "rlamp1-W1": "blink", "lamp-W2": "off"}
    pin = mock_pin(hw, "rlamp5-W1")
    pin.clear_states()
    wait_until(lambda: len(pin.states) >= 4, what="the rating lamp to toggle")
    assert {s.state for s in pin.states} == {True, False}
    clock.advance(seconds=30)
    press(hw, "rate5-W1", clock)
    assert [(r["ticket"], r["level"]) for r in ratings(phall)] == [(t.id, 5)]
    assert lamps(hw)["rlamp5-W1"] == "off" and lamps(hw)["rlamp1-W1"] == "off"
    assert mock_pin(hw, "rlamp5-W1").state is False and mock_pin(hw, "rlamp1-W1").state is False


def test_rating_prompt_without_rating_lamps_blinks_the_window_lamp(phall, hw, clock):
    """A window with no rating lamps says it with its lamp; a rating puts it out."""
    serve_one(phall, "W2", "s-wang")
    hw.drain()
    assert lamps(hw)["lamp-W2"] == "blink"
    press(hw, "rate5-W2", clock)
    assert lamps(hw)["lamp-W2"] == "off" and len(ratings(phall)) == 1


def test_rating_prompt_no_rating_ends_unrated_when_the_rating_window_closes(phall, hw, clock):
    """[J 23] No rating within the rating window: the prompt ends on the hall clock by itself
    (the timer thread re-reads it, no event needed), the service stays unrated, a later press
    is ignored."""
    from edge import rateprompt

    serve_one(phall)
    hw.drain()
    clock.advance(seconds=WINDOW_SECONDS - 1)
    hw.refresh_prompts()
    assert lamps(hw)["rlamp5-W1"] == "blink"
    assert phall.call(rateprompt.prompts)["W1"]["seconds_left"] == 1
    clock.advance(seconds=2)
    wait_until(lambda: lamps(hw)["rlamp5-W1"] == "off", what="the timer to end the prompt")
    assert lamps(hw)["rlamp1-W1"] == "off" and phall.call(rateprompt.prompts) == {}
    hw.sim_drive("rate5-W1", "press")
    hw.drain()
    assert ratings(phall) == []


def test_rating_prompt_ends_when_the_window_calls_its_next_number(phall, hw):
    from edge import queue

    serve_one(phall)
    phall.call(queue.issue, item="transcript")
    hw.drain()
    assert lamps(hw)["rlamp5-W1"] == "blink"
    phall.call(queue.call_next, "W1", "s-li")
    hw.drain()
    assert lamps(hw)["rlamp5-W1"] == "off"


def test_rating_prompt_paused_window_lamp_says_paused(phall, hw):
    """W2 has no rating lamps: pausing during the prompt lights its lamp steadily (paused wins)."""
    from edge import presence

    serve_one(phall, "W2", "s-wang")
    hw.drain()
    phall.call(presence.pause, "W2", "s-wang")
    hw.drain()
    assert lamps(hw)["lamp-W2"] == "on"


def test_rating_prompt_lamps_are_restored_at_start(phall):
    from edge.hardware import Hardware

    serve_one(phall)
    with Hardware(phall, simulate=True) as h:
        assert h.board.lamp("rlamp5-W1") == "blink" and h.board.lamp("lamp-W1") == "off"


def test_rating_prompt_config_rating_lamp_needs_a_window(tmp_path, photos):
    from edge.config import ConfigError, load

    p = tmp_path / "bad.toml"
    p.write_text(hall_toml(photos).replace('rlamp1-W1 = { pin = 13, role = "rating_lamp", window = "W1", level = 1 }',
                                           'rlamp1-W1 = { pin = 13, role = "rating_lamp" }'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pins\.rlamp1-W1\.window.*belongs to a window"):
        load(p)


# ---------------------------------------------------------------- console and display (HTTP)


def test_rating_prompt_shows_on_the_display_and_for_the_console_until_rated(phall, hw, pclient, clock):
    """[J 23] The board shows 请对本次服务进行评价 in the window's card with the seconds left and
    the voice line; /api/display/prompts (read by the console) lists it; a rating ends both."""
    import re

    from tests.edge.pages.helpers import sign_on

    sign_on(pclient)  # the clerk's console session at W1
    t = serve_one(phall)
    clock.advance(seconds=20)
    prompts = pclient.get("/api/display/prompts").json()
    assert [(p["window"], p["number"], p["seconds_left"], p["text"]) for p in prompts] == [
        ("W1", t.number, WINDOW_SECONDS - 20, "请对本次服务进行评价")]
    html = pclient.get("/display").text
    card = re.search(r'<div class="win [^"]*rating"[^>]*data-window="W1".*?</div>\s*</div>\s*</div>', html, re.S)
    assert card, html
    assert f'data-rate-number="{t.number}"' in card.group(0) and f'data-rate-left="{WINDOW_SECONDS - 20}"' in card.group(0)
    assert "请对本次服务进行评价" in card.group(0)
    assert f'data-rate-voice="1号窗口 {" ".join(t.number)} 号，请对本次服务进行评价"' in card.group(0)
    console = pclient.get("/static/console.js").text
    assert "/api/display/prompts" in console and 'id="rate-prompt"' in pclient.get("/console/W1").text
    press(hw, "rate1-W1", clock)
    assert pclient.get("/api/display/prompts").json() == []
    assert "请对本次服务进行评价" not in pclient.get("/display").text


# ---------------------------------------------------------------- 亮身份


def test_rating_prompt_board_shows_identity_with_photo_post_phone_and_pledge(phall, pclient):
    """[J 18, H 5] The card of a window shows who serves there: name, photo, post, phone, pledge;
    the photo is served only while the staff member is on duty at a window."""
    from edge import presence

    assert pclient.get("/api/display/photos/s-li").status_code == 404  # not on duty
    phall.call(presence.sign_on, "W1", "s-li")
    phall.call(presence.sign_on, "W2", "s-wang")
    html = pclient.get("/display").text
    assert '<img class="wphoto" src="/api/display/photos/s-li" alt="李明">' in html
    tel = '电话<span class="en" lang="en">Tel.</span> '  # the board's labels are bilingual by default
    for text in ("<b>李明</b>", '<span class="wpost">学籍管理科科员</span>', f"{tel}0000-1111-01",
                 '<div class="wpledge">承诺：<span class="en" lang="en">Pledge:</span>微笑服务，一次说清</div>'):
        assert text in html, text
    assert '<div class="wphoto winitial" aria-hidden="true">王</div>' in html  # no photo: the initial
    assert f"{tel}0000-1111<" in html  # 王芳 has no phone of her own: her department's
    r = pclient.get("/api/display/photos/s-li")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content == png()
    assert pclient.get("/api/display/photos/s-wang").status_code == 404  # no photo configured
    assert pclient.get("/api/display/photos/nobody").json()["code"] == "no-photo"


def test_rating_prompt_staff_photo_must_be_a_plain_file_name(tmp_path, photos):
    from edge.config import ConfigError, load

    p = tmp_path / "bad.toml"
    p.write_text(hall_toml(photos).replace('photo = "s-li.png"', 'photo = "../../etc/passwd.png"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"staff\[0\]\.photo"):
        load(p)


# ---------------------------------------------------------------- the voice


def needs_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is missing (.ci/system-deps installs it)")
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")


def test_rating_prompt_voice_speaks_the_hall_announcements_as_wav(phall, pclient):
    """A call and a prompt to rate, spoken by espeak-ng on the hall node (cached per text)."""
    from edge import presence, queue, voice

    needs_espeak()
    phall.call(presence.sign_on, "W1", "s-li")
    phall.call(queue.issue, item="transcript")
    t = phall.call(queue.call_next, "W1", "s-li")
    r = pclient.get("/api/display/voice", params={"what": "call", "window": "W1", "number": t.number})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert r.content[:4] == b"RIFF" and r.content[8:12] == b"WAVE"
    assert struct.unpack("<I", r.content[4:8])[0] == len(r.content) - 8  # a WAV with its real length
    speaker = voice.voice_for(phall.config.display)
    runs = speaker.syntheses
    again = pclient.get("/api/display/voice", params={"what": "call", "window": "W1", "number": t.number})
    assert again.content == r.content and speaker.syntheses == runs  # from the cache
    from edge import cases

    phall.call(cases.complete, "W1", "s-li", "instant", item="transcript")
    r = pclient.get("/api/display/voice", params={"what": "rate", "window": "W1", "number": t.number})
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
    assert pclient.get("/api/display/voice", params={"what": "enabled"}).content[:4] == b"RIFF"


def test_rating_prompt_voice_says_only_what_the_hall_announces(phall, pclient):
    """No arbitrary text: a number the window does not call, a window with no prompt, an unknown
    announcement or a `text` parameter are refused before anything is spoken."""
    from edge import presence, queue

    phall.call(presence.sign_on, "W1", "s-li")
    phall.call(queue.issue, item="transcript")
    phall.call(queue.call_next, "W1", "s-li")
    for params, status, code in [
        ({"what": "call", "window": "W1", "number": "A999"}, 404, "not-called"),
        ({"what": "call", "window": "W9", "number": "A001"}, 404, "unknown-window"),
        ({"what": "rate", "window": "W1", "number": "A001"}, 404, "no-prompt"),
        ({"what": "say", "text": "任意文字"}, 400, "invalid-request"),
        ({"text": "任意文字"}, 400, "invalid-request"),
        ({"what": "call", "window": "W1", "number": "A" * 65}, 400, "invalid-request"),
    ]:
        r = pclient.get("/api/display/voice", params=params)
        assert (r.status_code, r.json()["code"]) == (status, code), (params, r.text)


def test_rating_prompt_voice_is_503_without_espeak(tmp_path, photos, clock):
    """The configured program missing: a clear 503 naming it, nothing else breaks."""
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall

    missing = tmp_path / "no" / "espeak-ng"
    p = tmp_path / "hall.toml"
    p.write_text(hall_toml(photos, f'voice_command = "{missing}"\n'), encoding="utf-8")
    h = Hall(load(p), tmp_path / "d", clock)
    h.start()
    try:
        with edge_client(create_app(h, tick_seconds=3600, events_token=EVENTS_TOKEN)) as c:
            r = c.get("/api/display/voice", params={"what": "enabled"})
            assert r.status_code == 503
            assert r.json()["code"] == "voice-unavailable" and str(missing) in r.json()["detail"]
            assert c.get("/display").status_code == 200
    finally:
        h.stop()


def test_rating_prompt_voice_call_text_is_the_streams(phall):
    """The voice of a call says what the `call` event of /api/stream says (edge.api builds it)."""
    from edge import presence, queue, voice
    from edge.api import _announcement

    phall.call(presence.sign_on, "W1", "s-li")
    phall.call(queue.issue, item="transcript")
    t = phall.call(queue.call_next, "W1", "s-li")
    said = phall.call(_announcement, t.id, "W1")["text"]
    assert said == voice.call_text(t.number, "1号窗口") == phall.call(voice.announcement, "call", "W1", t.number)
