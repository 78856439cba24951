"""The visitor's phone page (edge/pages/phone.py) through HTTP: the ticket's live state as the
window calls and serves it, the reminder, the link that only this hall can make (a wrong one is
a 404 revealing nothing), no personal data; rating the service from the phone once per service
(一次一评, with the window's buttons: the first wins) inside the hall's rating window; and the
QR code of the link on the kiosk's slip."""

from __future__ import annotations

import re

import msgspec
import pytest
import segno

from edge import phone, queue
from edge.config import load
from edge.hall import Hall
from tests.conftest import HALL_TOML, PIN, edge_client
from tests.edge.pages.helpers import flash, issue
from tests.edge.test_ratings import press

PUBLIC_URL = "http://192.168.10.2:8100"


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 10_000) if e.kind == kind]


def link_of(hall, ticket_id: str) -> str:
    return hall.call(phone.ticket_path, ticket_id)


def api(path: str) -> str:
    return "/api/phone" + path[len("/m"):]


def staff_client(app):
    """A second browser (the clerk's): the visitor's phone shares no session with it."""
    c = edge_client(app)
    c.__enter__()
    assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
    return c


@pytest.fixture
def clerk(client):
    c = staff_client(client.app)
    yield c
    c.__exit__(None, None, None)


def step(clerk, action: str, **body) -> None:
    r = clerk.post(f"/api/windows/W1/{action}", json=body or None)
    assert r.status_code == 200, r.text


def live(page: str) -> str:
    """The page's live part as text (tags dropped, spaces squeezed)."""
    m = re.search(r'<div id="live".*?>(.*?)\n</div>', page, re.S)
    assert m, page
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


# ---------------------------------------------------------------------------- the page


def test_phone_page_follows_the_ticket_as_the_window_calls_and_serves(client, clerk, hall):
    first = issue(client, "transcript")
    mine = issue(client, "transcript")
    path = link_of(hall, mine["id"])
    text = live(client.get(path).text)
    assert "A002" in text and "教务处 · 成绩单打印" in text
    assert "1 前面等候（人）" in text and "预计等候（分钟）" in text  # W1 open: an estimate
    assert client.get(api(path)).json()["ahead"] == 1
    step(clerk, "call")  # A001
    assert "0 前面等候（人）" in live(client.get(path).text)
    step(clerk, "complete", outcome="instant")
    step(clerk, "call")  # A002: mine
    text = live(client.get(path).text)
    assert "请到 1号窗口 办理" in text and "正在叫您的号码" in text
    assert client.get(api(path)).json()["state"] == "called"
    step(clerk, "recall")
    assert "已重呼 1 次" in live(client.get(path).text)
    step(clerk, "start")
    assert "正在 1号窗口 办理" in live(client.get(path).text)
    step(clerk, "complete", outcome="instant")
    page = client.get(path).text
    assert "本次服务已办结" in live(page) and "请对本次服务进行评价" in page
    assert [label for label in re.findall(r'name="level" value="\d" class="plevel l\d">(.*?)<', page)] == \
        ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert first["id"] not in page


def test_phone_page_no_show_and_expired_say_what_to_do(client, clerk, hall, clock):
    t = issue(client, "transcript")
    path = link_of(hall, t["id"])
    step(clerk, "call")
    step(clerk, "recall")
    step(clerk, "recall")
    step(clerk, "no-show")
    text = live(client.get(path).text)
    assert "您的号码已过号" in text and "过号重新排队" in text and "请对本次服务进行评价" not in text
    clock.advance(days=1)  # the day rolls over: an unfinished number expires
    assert hall.call(queue.expire_stale) == 1
    assert "该号码已失效" in live(client.get(path).text)


def test_phone_page_reminds_when_remind_ahead_numbers_are_ahead(client, clerk, hall):
    """The reminder shows once `rules.remind_ahead` (3) or fewer numbers are ahead."""
    ids = [issue(client, "transcript")["id"] for _ in range(5)]
    path = link_of(hall, ids[4])
    state = client.get(api(path)).json()
    assert (state["ahead"], state["remind"], state["remind_ahead"]) == (4, False, 3)
    assert 'id="remind"' not in client.get(path).text
    step(clerk, "call")
    state = client.get(api(path)).json()
    assert (state["ahead"], state["remind"]) == (3, True)
    page = client.get(path).text
    assert 'data-remind' in page and "前面只剩 3 人，请尽快回到大厅等候叫号" in live(page)


def test_phone_page_remind_ahead_is_configuration(tmp_path, clock):
    f = tmp_path / "hall.toml"
    f.write_text(HALL_TOML.replace("rejoin_limit = 1\n", "rejoin_limit = 1\nremind_ahead = 1\n"), encoding="utf-8")
    h = Hall(load(f), tmp_path / "data", clock)
    h.start()
    try:
        from edge.app import create_app

        with edge_client(create_app(h, tick_seconds=3600)) as c:
            ids = [issue(c, "transcript")["id"] for _ in range(3)]
            assert [c.get(api(link_of(h, i))).json()["remind"] for i in ids] == [True, True, False]
    finally:
        h.stop()


@pytest.mark.parametrize("bad", ["wrong", "tag", "ticket", "non-hex", "unicode", "long"])
def test_phone_page_wrong_link_is_404_and_reveals_nothing(client, hall, bad):
    t = issue(client, "transcript")
    path = link_of(hall, t["id"])
    _m, ticket, tag = path.strip("/").split("/")
    other = "0190aaaa-0000-7000-8000-000000000000"
    url = {"wrong": f"/m/{ticket}/{'0' * 20 if tag != '0' * 20 else '1' * 20}",
           "tag": f"/m/{ticket}/{tag[:-1]}",  # one character short
           "ticket": f"/m/{other}/{tag}",  # another (unknown) ticket with this ticket's tag
           "non-hex": f"/m/{ticket}/{'z' * 20}",
           "unicode": f"/m/{ticket}/{'é' * 20}",
           "long": f"/m/{ticket}/{'a' * 300}"}[bad]
    r = client.get(url)
    assert r.status_code in (400, 404)  # an over-long part is refused before the hall is asked
    if r.status_code == 404:
        assert "该链接无效：请扫描号码条上的二维码" in r.text
    # the public error page: no staff links, nothing of the ticket
    assert 'href="/console"' not in r.text and 'href="/manage"' not in r.text
    assert "A001" not in r.text and "教务处" not in r.text
    j = client.get("/api/phone" + url[2:])
    assert j.status_code in (400, 404) and "A001" not in j.text
    if j.status_code == 404:
        assert j.json()["code"] == "unknown-link"
    s = client.get("/api/phone" + url[2:] + "/stream")
    assert s.status_code in (400, 404)
    r = client.post(url + "/rating", data={"level": "5"})
    assert r.status_code in (400, 404) and not bodies(hall, "rating.given")


def test_phone_page_shows_no_personal_data(client, clerk, hall):
    """Ratings and the page carry no identity [J 23]; the page does not name the clerk either."""
    t = issue(client, "transcript")
    path = link_of(hall, t["id"])
    pages = [client.get(path).text]
    for action in ("call", "start"):
        step(clerk, action)
        pages.append(client.get(path).text)
    step(clerk, "complete", outcome="instant")
    pages.append(client.get(path).text)
    pages.append(client.get(api(path)).text)
    for text in pages:
        text = text.replace(path[2:], "")  # the page's own address (its stream's) names the ticket
        for secret in ("李明", "s-li", "0000-1111-01", t["id"]):
            assert secret not in text, secret
    assert "set-cookie" not in client.get(path).headers  # a public page: no session is made


# ---------------------------------------------------------------------------- rating from the phone


def test_phone_rating_counts_once_phone_first(client, clerk, hall):
    """One rating per service (一次一评) [J 23, U 19, B 23, C 11(7)]: a second rating from the
    phone is refused with a message and changes nothing."""
    t = issue(client, "transcript")
    path = link_of(hall, t["id"])
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    r = client.post(path + "/rating", data={"level": "4"})
    assert r.status_code == 200 and str(r.url).endswith(path)
    assert flash(r.text) == "ok: 感谢您的评价：满意"
    assert "本次服务已评价：<b>满意</b>" in r.text and "请对本次服务进行评价" not in r.text
    assert bodies(hall, "rating.given") == [{"window": "W1", "ticket": t["id"], "level": 4, "staff": "s-li",
                                             "department": "academic", "source": "phone"}]
    r = client.post(path + "/rating", data={"level": "1"})
    assert flash(r.text) == "error: 本次服务已评价过，每次服务只能评价一次"
    assert len(bodies(hall, "rating.given")) == 1 and not bodies(hall, "rating.followup_opened")
    assert client.get(api(path)).json()["rating"] == "rated"


def test_phone_rating_bad_level_opens_a_followup_like_the_buttons(client, clerk, hall):
    """A 非常不满意 from the phone is followed up like one from the buttons [J 23]."""
    t = issue(client, "transcript")
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    client.post(link_of(hall, t["id"]) + "/rating", data={"level": "1"})
    assert [(f["ticket"], f["level"]) for f in bodies(hall, "rating.followup_opened")] == [(t["id"], 1)]
    r = client.post(link_of(hall, t["id"]) + "/rating", data={"level": "2"})
    assert "已评价过" in flash(r.text) and len(bodies(hall, "rating.given")) == 1


def test_phone_rating_before_the_service_ends_and_after_the_window_is_refused(client, clerk, hall, clock):
    """Ratings are taken for `rules.ratings.window_seconds` (120) after the service, as at the buttons."""
    t = issue(client, "transcript")
    path = link_of(hall, t["id"])
    r = client.post(path + "/rating", data={"level": "5"})
    assert flash(r.text) == "error: 本次服务尚未办结，办结后即可评价"
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    clock.advance(seconds=119)
    assert "请对本次服务进行评价" in client.get(path).text
    clock.advance(seconds=2)
    assert "请对本次服务进行评价" not in client.get(path).text
    r = client.post(path + "/rating", data={"level": "5"})
    assert flash(r.text) == "error: 评价时间已过，感谢您的支持"
    r = client.post(path + "/rating", data={"level": "0"})
    assert "评价等级须为 1–5" in flash(r.text)
    assert not bodies(hall, "rating.given")


def test_phone_rating_survives_the_windows_next_call(client, clerk, hall):
    """The buttons rate only until the window calls its next number; the phone names its own
    ticket, so the next call does not end its rating window."""
    t = issue(client, "transcript")
    issue(client, "transcript")
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    step(clerk, "call")
    r = client.post(link_of(hall, t["id"]) + "/rating", data={"level": "5"})
    assert flash(r.text) == "ok: 感谢您的评价：非常满意"


@pytest.fixture
def device_phone(device_hall, hardware):
    """The device hall's app (rating buttons on MockFactory pins) and its clerk at W1."""
    from edge.app import create_app

    app = create_app(device_hall, simulate=True, hardware=hardware, tick_seconds=3600)
    with edge_client(app) as visitor:
        c = staff_client(app)
        try:
            yield visitor, c
        finally:
            c.__exit__(None, None, None)


def test_phone_rating_buttons_first_then_phone_is_refused(device_phone, device_hall, hardware, clock):
    """一次一评 [J 23, U 19, B 23, C 11(7)]: the buttons rated the service; the phone cannot rate it again."""
    visitor, clerk = device_phone
    t = issue(visitor, "transcript")
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    press(hardware, clock, "rate5-W1")
    path = link_of(device_hall, t["id"])
    assert "本次服务已评价：<b>非常满意</b>" in visitor.get(path).text
    r = visitor.post(path + "/rating", data={"level": "2"})
    assert flash(r.text) == "error: 本次服务已评价过，每次服务只能评价一次"
    assert [(b["level"], b.get("source", "buttons")) for b in bodies(device_hall, "rating.given")] == [(5, "buttons")]


def test_phone_rating_phone_first_then_buttons_are_ignored(device_phone, device_hall, hardware, clock):
    """一次一评 [J 23, U 19, B 23, C 11(7)]: the phone rated the service; a press after it counts nothing."""
    visitor, clerk = device_phone
    t = issue(visitor, "transcript")
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    visitor.post(link_of(device_hall, t["id"]) + "/rating", data={"level": "3"})
    press(hardware, clock, "rate1-W1")
    assert [(b["level"], b["source"]) for b in bodies(device_hall, "rating.given")] == [(3, "phone")]
    assert not bodies(device_hall, "rating.followup_opened")


# ---------------------------------------------------------------------------- the QR code on the kiosk's slip


def qr_cells(svg: str) -> set[tuple[int, int]]:
    """The dark modules (row, column) the SVG draws: segno draws each row's runs as horizontal
    strokes (`M x y` absolute, `m dx dy` relative moves, `h n` runs) at y = row + 0.5."""
    d = re.search(r'<path[^>]* stroke="[^"]+"[^>]* d="([^"]+)"', svg).group(1)  # the dark modules' path
    x = y = 0.0
    cells = set()
    for op, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?:[ ,](-?[\d.]+))?", d):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            n = float(a) if op == "h" else float(a) - x
            cells |= {(int(y - 0.5), int(x) + i) for i in range(int(n))}
            x += n
    return cells


def decodes_to(svg: str, link: str) -> bool:
    """Whether the drawn code is the QR code of `link` (in any error level and mask segno could
    choose): a code that encodes anything else differs in its modules."""
    drawn = qr_cells(svg)
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    border = 4
    for error in "lmqh":
        for mask in range(8):
            try:
                q = segno.make(link, error=error, mask=mask, micro=False, boost_error=False)
            except segno.DataOverflowError:
                continue
            if len(q.matrix) + 2 * border != size:
                continue
            if {(r + border, c + border) for r, row in enumerate(q.matrix) for c, v in enumerate(row) if v} == drawn:
                return True
    return False


@pytest.fixture
def url_client(tmp_path, clock):
    """The test hall with `[hall] public_url` set."""
    from edge.app import create_app

    f = tmp_path / "hall.toml"
    f.write_text(HALL_TOML.replace("[hall]\n", f'[hall]\npublic_url = "{PUBLIC_URL}"\n', 1), encoding="utf-8")
    h = Hall(load(f), tmp_path / "url-data", clock)
    h.start()
    try:
        with edge_client(create_app(h, tick_seconds=3600)) as c:
            yield c, h
    finally:
        h.stop()


def test_phone_kiosk_slip_qr_code_encodes_the_phone_link(url_client):
    c, h = url_client
    r = c.post("/kiosk/tickets", data={"item": "transcript"})
    ticket_id = str(r.url).rsplit("/", 1)[1]
    link = h.call(phone.ticket_link, ticket_id)
    assert link == f"{PUBLIC_URL}{link_of(h, ticket_id)}"
    m = re.search(r'<div class="slip-qr" id="slip-qr" data-link="([^"]+)">(<svg.*?</svg>)<p>扫码查看排队进度', r.text, re.S)
    assert m, r.text
    assert m.group(1) == link
    assert decodes_to(m.group(2), link)
    other = c.post("/kiosk/tickets", data={"item": "transcript"})
    assert not decodes_to(m.group(2), h.call(phone.ticket_link, str(other.url).rsplit("/", 1)[1]))
    # the link opens the page (on the hall's network the phone reaches the node at public_url)
    assert "A001" in live(c.get(link.removeprefix(PUBLIC_URL)).text)


def test_phone_kiosk_slip_without_public_url_has_no_qr_code(client):
    r = client.post("/kiosk/tickets", data={"item": "transcript"})
    assert "slip-qr" not in r.text and "<svg" not in r.text and "扫码查看排队进度" not in r.text


# ---------------------------------------------------------------------------- in English (issue 14, edge/i18n.py)


def english(html: str) -> list[str]:
    """The Chinese of an English page outside business data (tests/edge/test_i18n.py)."""
    from tests.edge.test_i18n import untranslated

    return untranslated(html)


def test_phone_page_in_english_follows_the_ticket(client, clerk, hall):
    """`?lang=en`: the page, its live part, the reminder and the states in English; the business
    data (department, item, window names) in Chinese, marked lang="zh-CN"; the stream and the
    state requests of phone.js keep the language."""
    first = issue(client, "transcript")
    mine = issue(client, "transcript")
    path = link_of(hall, mine["id"])
    r = client.get(f"{path}?lang=en")
    assert '<html lang="en">' in r.text and english(r.text) == []
    text = live(r.text)
    assert "Your number A002" in text and "1 ahead of you" in text
    assert "Only 1 person ahead of you: please come back to the hall now" in text  # remind_ahead 3
    assert '<span lang="zh-CN">教务处</span> · <span lang="zh-CN">成绩单打印</span>' in r.text
    assert f'data-stream="{api(path)}/stream?lang=en" data-state-url="{api(path)}?lang=en"' in r.text
    # the toggle leads to the same page in Chinese, and back
    assert f'<a class="toggle" href="{path}" data-toggle="lang" lang="zh-CN">中文</a>' in r.text
    assert f'<a class="toggle" href="{path}?lang=en" data-toggle="lang" lang="en">English</a>' in client.get(path).text
    assert client.get(f"{api(path)}?lang=en").json()["state_label"] == "waiting"
    assert client.get(api(path)).json()["state_label"] == "等候中"
    step(clerk, "call")  # A001
    step(clerk, "complete", outcome="instant")
    step(clerk, "call")  # A002: mine
    r = client.get(f"{path}?lang=en")
    assert 'Please go to <b><span lang="zh-CN">1号窗口</span></b>' in r.text
    assert "Your number is being called: please go now" in live(r.text) and english(r.text) == []
    step(clerk, "recall")
    assert "Called again 1 time: please go now" in live(client.get(f"{path}?lang=en").text)
    step(clerk, "start")
    r = client.get(f"{path}?lang=en")
    assert "Being served at" in live(r.text) and english(r.text) == []
    assert first["id"] != mine["id"]


def test_phone_rating_in_english_keeps_the_language(client, clerk, hall):
    """The rating levels, the thanks and the refusal of a second rating in English; the form and
    the redirect keep `?lang=en`; the rating counts once, as in Chinese [J 23]."""
    t = issue(client, "transcript")
    path = link_of(hall, t["id"])
    step(clerk, "call")
    step(clerk, "complete", outcome="instant")
    r = client.get(f"{path}?lang=en")
    assert f'action="{path}/rating?lang=en"' in r.text
    assert re.findall(r'class="plevel l\d">([^<]+)<', r.text) == [
        "Very satisfied", "Satisfied", "Fairly satisfied", "Dissatisfied", "Very dissatisfied"]
    assert english(r.text) == []
    r = client.post(f"{path}/rating?lang=en", data={"level": "4"})
    assert str(r.url).endswith(f"{path}?lang=en")
    assert flash(r.text) == "ok: Thank you for your rating: Satisfied"
    assert "You rated this service: <b>Satisfied</b>" in r.text and english(r.text) == []
    r = client.post(f"{path}/rating?lang=en", data={"level": "1"})
    assert flash(r.text) == "error: This service has already been rated; each service can be rated once."
    assert len(bodies(hall, "rating.given")) == 1


def test_phone_wrong_link_in_english_is_404(client, hall):
    t = issue(client, "transcript")
    r = client.get(f"/m/{t['id']}/{'0' * 20}?lang=en")
    assert r.status_code == 404
    assert "This link is not valid: please scan the QR code on your slip." in r.text and english(r.text) == []


def test_phone_kiosk_slip_in_english_links_the_english_page(url_client):
    """A number taken in English: the slip's QR code opens the phone page in English; the
    printed slip (edge.printing) and a Chinese visit link the page in Chinese."""
    c, h = url_client
    r = c.post("/kiosk/tickets?lang=en", data={"item": "transcript"})
    ticket_id = str(r.url).split("?")[0].rsplit("/", 1)[1]
    link = h.call(phone.ticket_link, ticket_id, "en")
    assert link == f"{PUBLIC_URL}{link_of(h, ticket_id)}?lang=en"
    assert h.call(phone.ticket_link, ticket_id) == f"{PUBLIC_URL}{link_of(h, ticket_id)}"
    m = re.search(r'<div class="slip-qr" id="slip-qr" data-link="([^"]+)">(<svg.*?</svg>)', r.text, re.S)
    assert m and m.group(1) == link and decodes_to(m.group(2), link)
    page = c.get(link.removeprefix(PUBLIC_URL))
    assert '<html lang="en">' in page.text and "Your number" in page.text
