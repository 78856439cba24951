"""Assessment outcomes (central.awards) on SQLite and PostgreSQL: the monthly attendance
bulletin, red flag windows, yearly awards and the performance allowance, checked against
figures computed by hand from the events of tests/central/awards_data.py; role limits and
400s through the real HTTP app."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from litestar.testing import TestClient

from central import awards as aw
from central import reports as rp
from central import scope as sc
from central.errors import BadRequest
from central.supervision import complaints as cp
from central.supervision import patrols as pt
from central.app import create_app
from central.auth import Auth
from central.config import AwardRule, Awards, ConfigError, Grade, User, load
from tests.central import awards_data as ad
from tests.central.data import Browser, at

ADMIN_USER = User(name="admin", role="admin", password_hash="x")
SEMESTER_DAY, SEMESTER_TODAY = "2027-02-01", date(2027, 2, 2)  # a Monday of semester 2026-2
YEAR_DAY, YEAR_TODAY = "2027-01-01", date(2027, 1, 2)  # the first (open) day of 2027 in the test calendar

RULE = AwardRule(count=2, min_ratings=3, min_good_rate=0.6, max_incidents=1, max_upheld_complaints=0,
                 max_patrol_findings=1)
CFG = Awards(red_flag=RULE, five_star=RULE,
             service_model=AwardRule(count=1, min_ratings=3, min_good_rate=0.9, max_incidents=0,
                                     max_upheld_complaints=0, max_patrol_findings=0),
             advanced=RULE,
             grades=[Grade(name="优秀", share=0.25, coefficient=1.2), Grade(name="良好", min_score=90, coefficient=1.0),
                     Grade(name="合格", min_score=60, coefficient=0.8), Grade(name="不合格", coefficient=0.0)])


@pytest.fixture
def directory(tmp_path):
    return ad.build_directory(tmp_path)


def complaint(store, d, hall, staff, day, outcome):
    c = cp.create_complaint(store, d, ADMIN_USER, {"hall": hall, "staff": staff, "received": f"{day} 10:00",
                                                   "channel": "窗口", "complexity": "一般", "content": "态度生硬"},
                            at(day, "17:00"))
    cp.update_complaint(store, d, ADMIN_USER, sc.ADMIN, c["id"], {"action": "reply", "reply": "已核实",
                                                                  "outcome": outcome}, at(day, "17:30"))


def patrol(store, d, hall, staff, day):
    pt.create_patrol(store, d, ADMIN_USER, {"hall": hall, "staff": staff, "day": day, "category": "纪律",
                                            "kind": "现场巡查", "note": "玩手机"}, at(day, "17:00"))


def winners(report):
    return [(r["hall"], r.get("window") or r.get("staff")) for r in report["rows"]]


# ---------------------------------------------------------------- red flags


def test_awards_red_flag_goes_to_the_best_eligible_windows(store, directory):
    """The mobile red flag (流动红旗) goes to the best windows each semester [J 32]."""
    ad.ingest(store, ad.day_logs(SEMESTER_DAY))
    r = aw.red_flags(store, directory, "2026-2", cfg=CFG, today=SEMESTER_TODAY)
    # by hand: h-a W1, h-b W1 and h-b W3 all score 100 (5 ratings, 好评率 1, on time) and tie on
    # every figure; hall id, then window id decide: h-a W1, h-b W1 (h-b W3 is third)
    assert winners(r) == [("h-a", "W1"), ("h-b", "W1")]
    assert [x["place"] for x in r["rows"]] == [1, 2]
    assert r["rows"][0]["score"] == ad.score([5] * 5, 0) == 100.0
    cands = {(c["hall"], c["window"]): c for c in r["candidates"]}
    assert cands[("h-a", "W2")]["score"] == ad.score([5, 5, 5, 5, 1], 0) == 87.5
    assert cands[("h-c", "W1")]["score"] == ad.score([5] * 4, 1) == 62.5 and cands[("h-c", "W1")]["eligible"]
    assert not cands[("h-c", "W2")]["eligible"] and "评价数2少于3" in cands[("h-c", "W2")]["reasons"]
    # no ratings: score from attendance alone (100), but not eligible
    assert cands[("h-a", "W3")]["score"] == 100.0 and not cands[("h-a", "W3")]["eligible"]
    # b-sun absent: attendance 0 → score 0; one incident is within max_incidents = 1
    assert cands[("h-b", "W4")]["score"] == 0.0 and cands[("h-b", "W4")]["reasons"] == ["评价数0少于3"]
    assert cands[("h-b", "W4")]["incidents"] == 1


def test_awards_upheld_complaint_makes_a_window_ineligible_and_patrols_deduct(store, directory):
    ad.ingest(store, ad.day_logs(SEMESTER_DAY))
    complaint(store, directory, "h-a", "a-li", SEMESTER_DAY, "属实")
    complaint(store, directory, "h-b", "b-qian", SEMESTER_DAY, "不属实")  # not upheld: no effect
    patrol(store, directory, "h-b", "b-li", SEMESTER_DAY)
    r = aw.red_flags(store, directory, "2026-2", cfg=CFG, today=SEMESTER_TODAY)
    cands = {(c["hall"], c["window"]): c for c in r["candidates"]}
    a1 = cands[("h-a", "W1")]
    assert a1["complaints"] == 1 and not a1["eligible"] and a1["reasons"] == ["属实投诉1件"]
    assert a1["score"] == 100 - 5 and a1["raw_score"] == 100
    b1 = cands[("h-b", "W1")]
    assert b1["findings"] == 1 and b1["eligible"] and b1["score"] == ad.score([5, 5, 5, 5, 4], 0) - 2 == 98
    assert cands[("h-b", "W3")]["complaints"] == 0
    assert winners(r) == [("h-b", "W3"), ("h-b", "W1")]
    # a second finding passes max_patrol_findings = 1
    patrol(store, directory, "h-b", "b-li", SEMESTER_DAY)
    r = aw.red_flags(store, directory, "2026-2", cfg=CFG, today=SEMESTER_TODAY)
    assert winners(r) == [("h-b", "W3"), ("h-a", "W2")]
    # the complaint of another semester does not count
    r = aw.red_flags(store, directory, "2026-1", cfg=CFG, today=SEMESTER_TODAY)
    assert all(c["complaints"] == 0 for c in r["candidates"])


def test_awards_share_of_windows(store, directory):
    ad.ingest(store, ad.day_logs(SEMESTER_DAY))
    cfg = Awards(red_flag=AwardRule(count=99, share=0.25, min_ratings=0, min_good_rate=0, max_incidents=9))
    r = aw.red_flags(store, directory, "2026-2", cfg=cfg, today=SEMESTER_TODAY)
    scored = [c for c in r["candidates"] if c["score"] is not None]
    assert len(scored) == 12 and len(r["rows"]) == 3  # floor(0.25 × 12)


# ---------------------------------------------------------------- yearly awards


def test_awards_yearly_awards(store, directory):
    """Five-star window, service model and advanced individual each year [J 32]."""
    ad.ingest(store, ad.day_logs(YEAR_DAY))
    complaint(store, directory, "h-a", "a-li", YEAR_DAY, "部分属实")
    patrol(store, directory, "h-b", "b-li", YEAR_DAY)
    r = aw.yearly_awards(store, directory, "2027", cfg=CFG, today=YEAR_TODAY)
    lists = r["lists"]
    assert [(x["hall"], x["window"]) for x in lists["five_star"]["winners"]] == [("h-b", "W3"), ("h-b", "W1")]
    # 服务标兵 needs 好评率 ≥ 0.9, no incident, no finding: b-qian (100); b-li has a finding,
    # a-li a complaint, a-wang 0.8, c-li was late
    assert [x["staff"] for x in lists["service_model"]["winners"]] == ["b-qian"]
    # 先进个人: b-qian already 服务标兵 (exclusive) → b-li (98), then a-wang (87.5); a-li has a complaint
    assert [x["staff"] for x in lists["advanced"]["winners"]] == ["b-li", "a-wang"]
    assert [x["score"] for x in lists["advanced"]["winners"]] == [98.0, 87.5]
    b = next(c for c in lists["advanced"]["candidates"] if c["staff"] == "b-qian")
    assert "已获服务标兵" in b["reasons"]
    assert [(x["award"], x["name"]) for x in r["rows"]] == [
        ("五星级服务窗口", "3号窗口"), ("五星级服务窗口", "1号窗口"), ("服务标兵", "钱红"), ("先进个人", "李明"),
        ("先进个人", "王芳")]
    # every list names somebody at most once
    for lst in lists.values():
        keys = [(x["hall"], x.get("window") or x.get("staff")) for x in lst["candidates"]]
        assert len(keys) == len(set(keys))
    # not exclusive: b-qian is both
    r = aw.yearly_awards(store, directory, 2027, cfg=Awards(**{**_fields(CFG), "exclusive": False}), today=YEAR_TODAY)
    assert [x["staff"] for x in r["lists"]["advanced"]["winners"]] == ["b-qian", "b-li"]


def _fields(cfg: Awards) -> dict:
    return {f: getattr(cfg, f) for f in cfg.__struct_fields__}


def test_awards_a_person_in_two_halls_appears_once(store, tmp_path):
    """The plain test data (tests/central/data.py) stations s-li, s-wang, s-qian and s-sun in
    every hall: four people, one allowance each, listed once with every hall."""
    from tests.central.data import build_directory, ingest_all, three_halls

    d = build_directory(tmp_path)
    ingest_all(store, three_halls())
    r = aw.allowance(store, d, "2026", cfg=CFG, today=date(2026, 11, 6))
    assert r["stationed"] == 4 and r["pool"] == 4 * 4800
    assert sum(x["amount"] for x in r["rows"]) == r["pool"]
    assert sorted(x["staff"] for x in r["rows"]) == ["s-li", "s-qian", "s-sun", "s-wang"]
    li = next(x for x in r["rows"] if x["staff"] == "s-li")
    assert li["stationed_halls"] == ["h-a", "h-b", "h-c"]
    # s-li's ranking rows of the three halls are merged: the mean of their scores
    rows = [x for x in rp.rankings(store, d, "year:2026", "staff", today=date(2026, 11, 6))["rows"]
            if x["staff"] == "s-li"]
    assert len(rows) == 3 and li["raw_score"] == round(sum(x["score"] for x in rows) / 3, 2)
    y = aw.yearly_awards(store, d, "2026", cfg=Awards(advanced=AwardRule(count=10, min_ratings=0, min_good_rate=0,
                                                                          max_incidents=999)),
                         today=date(2026, 11, 6))
    names = [x["staff"] for x in y["lists"]["advanced"]["candidates"]]
    assert sorted(names) == ["s-li", "s-qian", "s-sun", "s-wang"]  # each once, though ranked in 2–3 halls


# ---------------------------------------------------------------- the allowance


def test_awards_allowance_follows_grades_and_sums_to_the_pool(store, directory):
    """The allowance pool (4,800 per stationed person) is paid out by grade [J 33]."""
    ad.ingest(store, ad.day_logs(YEAR_DAY))
    complaint(store, directory, "h-a", "a-li", YEAR_DAY, "属实")
    patrol(store, directory, "h-b", "b-li", YEAR_DAY)
    r = aw.allowance(store, directory, "2027", cfg=CFG, today=YEAR_TODAY)
    assert r["stationed"] == 12 and r["pool"] == 12 * 4800 == 57600
    got = {x["staff"]: (x["score"], x["grade"], x["amount"]) for x in r["rows"]}
    # by hand (see awards_data): scores; order among the 100s: 好评率 and ratings, then hall, id
    # 优秀 quota floor(0.25 × 12) = 3: b-qian, c-wang, a-qian; 良好 (≥ 90): a-sun, b-wang,
    # c-qian, c-sun, b-li 98, a-li 95; 合格 (≥ 60): a-wang 87.5, c-li 62.5; 不合格: b-sun 0.
    # Σ coefficients = 3×1.2 + 6×1.0 + 2×0.8 = 11.2; one unit = 57600 / 11.2 = 5142.857…
    # 优秀 6171.43, 良好 5142.86, 合格 4114.29 → floors sum to 57593; the 7 yuan left go to the 6
    # 良好 (remainder .857) and the best 优秀 (.429, rank 1 = b-qian).
    assert got == {
        "b-qian": (100.0, "优秀", 6172), "c-wang": (100.0, "优秀", 6171), "a-qian": (100.0, "优秀", 6171),
        "a-sun": (100.0, "良好", 5143), "b-wang": (100.0, "良好", 5143), "c-qian": (100.0, "良好", 5143),
        "c-sun": (100.0, "良好", 5143), "b-li": (98.0, "良好", 5143), "a-li": (95.0, "良好", 5143),
        "a-wang": (87.5, "合格", 4114), "c-li": (62.5, "合格", 4114), "b-sun": (0.0, "不合格", 0)}
    assert sum(a for _s, _g, a in got.values()) == 57600
    for x in r["rows"]:  # each amount is within one yuan of its exact share
        exact = Fraction(57600) * Fraction(str(x["coefficient"])) / Fraction("11.2")
        assert abs(x["amount"] - exact) < 1
    deps = {g["department"]: (g["staff"], g["amount"]) for g in r["departments"]}
    # academic: c-wang 优秀, a-li b-li b-wang 良好, a-wang c-li 合格 (s-zhao is B-role: not stationed)
    assert deps == {"academic": (6, 6171 + 5143 * 3 + 4114 * 2), "finance": (3, 6172 + 6171 + 5143),
                    "security": (3, 5143 * 2)}
    assert sum(a for _n, a in deps.values()) == 57600
    assert [x["department"] for x in r["rows"]] == sorted(x["department"] for x in r["rows"])


def test_awards_grade_boundaries():
    def cands(scores):
        return [aw.Candidate(kind="staff", hall="h", ident=f"s{i:02d}", department="d", halls=["h"], raw_score=s)
                for i, s in enumerate(scores)]

    cfg = Awards(grades=[Grade(name="优秀", share=0.2, min_score=90, coefficient=1.2),
                         Grade(name="良好", min_score=80, coefficient=1.0),
                         Grade(name="合格", min_score=60, coefficient=0.8), Grade(name="不合格", coefficient=0)])
    # 10 people: 优秀 quota floor(0.2 × 10) = 2; the third 95 is 良好; 80 exactly is 良好,
    # 79.99 合格, 60 exactly 合格, 59.99 and 0 不合格
    scores = [99, 95, 95, 90, 80, 79.99, 60, 59.99, 0, 0]
    graded = aw.grade(cands(scores), cfg)
    names = [cfg.grades[i].name for _c, _r, i in graded]
    assert [c.raw_score for c, _r, _i in graded] == scores
    assert names == ["优秀", "优秀", "良好", "良好", "良好", "合格", "合格", "不合格", "不合格", "不合格"]
    # 优秀 needs min_score too: with 5 people the quota is 1, and 89.99 does not reach it
    graded = aw.grade(cands([89.99, 85, 70, 65, 10]), cfg)
    assert [cfg.grades[i].name for _c, _r, i in graded] == ["良好", "良好", "合格", "合格", "不合格"]
    # no score (no data in the year) is not assessed [J 33]: 未参评, last, outside the quotas —
    # with 6 people of whom 1 has no score the 优秀 quota is floor(0.2 × 5) = 1, not 0 of 6 … 1
    graded = aw.grade(cands([None, 95, 92, 85, 70, 10]), cfg)
    assert [(c.raw_score, r, None if i is None else cfg.grades[i].name) for c, r, i in graded] == [
        (95, 1, "优秀"), (92, 2, "良好"), (85, 3, "良好"), (70, 4, "合格"), (10, 5, "不合格"), (None, None, None)]
    # split: exact sum, proportional, the remainder to the earlier entry on equal remainders
    assert aw.split(10, [1, 1, 1]) == [4, 3, 3]
    assert aw.split(9600, [1.2, 0.8]) == [5760, 3840]
    assert aw.split(100, [0, 0]) == [0, 0]


def test_awards_config_is_validated(tmp_path):
    base = (tmp_path / "c.toml")

    def check(extra: str) -> str:
        base.write_text('[central]\nname = "x"\nhalls = []\n' + extra, encoding="utf-8")
        with pytest.raises(ConfigError) as e:
            load(base)
        return str(e.value)

    msg = check('[[awards.grades]]\nname = "优秀"\nshare = 0.2\ncoefficient = 1.2\n')
    assert str(base) in msg and "$.awards.grades[0]" in msg
    msg = check('[[awards.grades]]\nname = "A"\ncoefficient = -1\n')
    assert "$.awards.grades[0].coefficient" in msg
    msg = check('[awards.red_flag]\ncount = 3\nbogus = 1\n')
    assert "bogus" in msg
    msg = check('[[awards.grades]]\nname = "A"\nshare = 0.7\ncoefficient = 1\n'
                '[[awards.grades]]\nname = "B"\nshare = 0.7\ncoefficient = 1\n'
                '[[awards.grades]]\nname = "C"\ncoefficient = 0\n')
    assert "$.awards.grades" in msg and "more than 1" in msg
    # the shipped example loads with the defaults of the seeds
    cfg, _halls = load("config/central.toml")
    assert cfg.awards.pool_per_staff == 4800 and cfg.awards.red_flag.count == 3
    assert [g.name for g in cfg.awards.grades] == ["优秀", "良好", "合格", "不合格"]


# ---------------------------------------------------------------- the bulletin


def test_awards_bulletin_equals_the_attendance_report(store, directory):
    """Attendance is published every month and feeds assessment [U 25, B 32]."""
    ad.ingest(store, ad.day_logs(SEMESTER_DAY))
    b = aw.attendance_bulletin(store, directory, "2027-02", sc.ADMIN, today=SEMESTER_TODAY)
    a = rp.attendance(store, directory, "2027-02", today=SEMESTER_TODAY)
    assert b["rows"] == a["rows"]
    rows = {(r["hall"], r["staff"]): r for r in b["rows"]}
    assert len(rows) == 12  # every A-role staff member of the three halls
    assert rows[("h-c", "c-li")]["late"] == 1 and rows[("h-c", "c-li")]["present"] == 1
    assert rows[("h-b", "b-sun")]["absent"] == 1 and rows[("h-b", "b-sun")]["present"] == 0
    assert rows[("h-a", "a-li")]["late"] == 0 and rows[("h-a", "a-li")]["present"] == 1
    groups = [(g["hall"], g["department"], [r["staff"] for r in g["rows"]]) for g in b["groups"]]
    assert groups[:3] == [("h-a", "academic", ["a-li", "a-wang"]), ("h-a", "finance", ["a-qian"]),
                          ("h-a", "security", ["a-sun"])]
    sec_b = next(g for g in b["groups"] if g["hall"] == "h-b" and g["department"] == "security")
    assert sec_b["totals"]["absent"] == 1 and sec_b["totals"]["present"] == 0
    hb = aw.attendance_bulletin(store, directory, "2027-02", sc.Scope(role="hall", hall="h-b"), today=SEMESTER_TODAY)
    assert {r["hall"] for r in hb["rows"]} == {"h-b"}
    fin = aw.attendance_bulletin(store, directory, "2027-02", sc.Scope(role="department", department="finance"),
                                 today=SEMESTER_TODAY)
    assert {r["staff"] for r in fin["rows"]} == {"a-qian", "b-qian", "c-qian"}
    with pytest.raises(BadRequest):
        aw.attendance_bulletin(store, directory, "2027-13", sc.ADMIN)


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def client(store, tmp_path, directory):
    cfg, _halls = load(ad.write_config(tmp_path))
    ad.ingest(store, ad.day_logs(YEAR_DAY))
    complaint(store, directory, "h-a", "a-li", YEAR_DAY, "属实")
    app = create_app(store, None, directory, Auth(cfg.users, session_minutes=30))
    app.state.awards = CFG
    with Browser(app) as c:
        yield c


def login(c, name, password):
    r = c.post("/login", data={"username": name, "password": password}, follow_redirects=False)
    assert r.status_code in (301, 302, 303)


def test_awards_api_roles_limit_rows_not_winners(client):
    assert client.get("/api/awards/redflag?semester=2026-1").status_code == 401
    q = "&today=2027-01-02"
    admin = client.get("/api/awards/redflag?semester=2026-1" + q, auth=("admin", "admin123"))
    assert admin.status_code == 200
    # semester 2026-1 runs from September 2026 to January 2027; the halls' records start on the
    # day of the data, so nobody is absent before it: the same two windows as the five-star
    # list below win (h-b W1 and W3 tie at 100, W1 first; h-a W1 has the upheld complaint)
    assert [(x["place"], x["hall"], x["window"], x["score"]) for x in admin.json()["rows"]] == [
        (1, "h-b", "W1", 100.0), (2, "h-b", "W3", 100.0)]
    year = client.get("/api/awards/year?year=2027" + q, auth=("admin", "admin123")).json()
    assert [(x["award"], x["hall"]) for x in year["rows"]][:2] == [("五星级服务窗口", "h-b"), ("五星级服务窗口", "h-b")]
    login(client, "finance-head", "finance123")
    fin = client.get("/api/awards/year?year=2027" + q).json()
    # (no patrol finding here) five-star: h-b W1 and h-b W3 tie at 100, W1 first; 服务标兵: b-li
    # and b-qian tie, b-li first; 先进个人: b-qian, a-wang. Finance sees its own rows with the
    # places they have among the centre's winners.
    assert [(x["award"], x["hall"], x["place"]) for x in fin["rows"]] == [("五星级服务窗口", "h-b", 2),
                                                                         ("先进个人", "h-b", 1)]
    allow = client.get("/api/awards/allowance?year=2027" + q).json()
    # without the patrol finding b-li (100, 5 ratings, 好评率 1) ties b-qian and sorts first: 优秀
    # are b-li (6172, the leftover yuan), b-qian, c-wang (6171); a-qian drops to 良好 (5143)
    assert {x["staff"]: x["amount"] for x in allow["rows"]} == {"a-qian": 5143, "b-qian": 6171, "c-qian": 5143}
    assert allow["pool"] == 57600 and [g["department"] for g in allow["departments"]] == ["finance"]
    client.post("/logout")
    login(client, "hb-manager", "hall123")
    hb = client.get("/api/awards/allowance?year=2027" + q).json()
    assert sorted(x["staff"] for x in hb["rows"]) == ["b-li", "b-qian", "b-sun", "b-wang"]
    bul = client.get("/api/awards/bulletin?month=2027-01" + q).json()
    assert {x["hall"] for x in bul["rows"]} == {"h-b"} and bul["columns"][0] == {"key": "hall_name", "title": "大厅"}


@pytest.mark.parametrize("url", ["/api/awards/redflag?semester=2026-3", "/api/awards/redflag",
                                 "/api/awards/year?year=27", "/api/awards/allowance?year=abcd",
                                 "/api/awards/bulletin?month=2027-13", "/api/awards/year?year=2027&format=xml",
                                 "/api/awards/year?year=2027&today=yesterday"])
def test_awards_api_bad_parameters_are_400(client, url):
    r = client.get(url, auth=("admin", "admin123"))
    assert r.status_code == 400 and r.json()["detail"]


def test_awards_print_and_csv(client):
    assert client.get("/awards/allowance?year=2027", follow_redirects=False).status_code in (302, 303, 307)
    login(client, "admin", "admin123")
    page = client.get("/awards/allowance?year=2027&today=2027-01-02")
    assert page.status_code == 200 and "绩效奖励津贴" in page.text and "data-print" in page.text
    css = client.get("/static/central.css").text  # the print layout: no header, no filters
    assert "@media print" in css and "form.filters" in css.split("@media print")[1]
    assert "57600" in page.text and "6172" in page.text
    csv = client.get("/awards/allowance?year=2027&today=2027-01-02&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "派出部门,工号,姓名,大厅,名次,考核得分,等级,系数,津贴(元)" and len(lines) == 13
    assert sum(int(x.rsplit(",", 1)[1]) for x in lines[1:]) == 57600
    page = client.get("/awards/year?year=2027&today=2027-01-02")
    assert page.status_code == 200 and "五星级服务窗口" in page.text and "属实投诉1件" in page.text
    page = client.get("/awards/redflag?semester=2026-2&today=2027-01-02")
    assert page.status_code == 200 and "流动红旗服务窗口" in page.text
    page = client.get("/awards/bulletin?month=2027-01&today=2027-01-02")
    assert page.status_code == 200 and "考勤公布" in page.text and "乙大厅" in page.text and "b-sun" in page.text
    bad = client.get("/awards/redflag?semester=2026-9")
    assert bad.status_code == 400 and "semester must be" in bad.text
    csv = client.get("/awards/year?year=2027&today=2027-01-02&format=csv").content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("奖项,名次,大厅")


def test_awards_year_without_data_unassessed_not_failed_nothing_unpaid(client, store, directory):
    """A year before the halls used the system [J 33]: every stationed person is 未参评 (not
    不合格), the pool counts assessed staff only (0 here), so nothing is claimed as 元未分配; the
    award lists show 未参评（无数据） instead of 不符合 [J 32]."""
    r = aw.allowance(store, directory, "2025", cfg=CFG, today=YEAR_TODAY)
    assert r["stationed"] == 12 and r["assessed"] == 0 and r["unassessed"] == 12
    assert r["pool"] == r["paid"] == r["undistributed"] == 0
    assert {x["grade"] for x in r["rows"]} == {"未参评"} and all(x["amount"] == 0 for x in r["rows"])
    login(client, "admin", "admin123")
    page = client.get("/awards/allowance?year=2025&today=2027-01-02").text
    assert "未参评" in page and "不合格" not in page.split("</table>", 1)[1] and "元未分配" not in page
    assert "没有考核数据" in page
    year = client.get("/awards/year?year=2025&today=2027-01-02").text
    assert "未参评（无数据）" in year and ">不符合<" not in year
    assert "本期没有考核数据（12 个候选均未参评），不作评选" in year
    # the year with data still grades and pays everyone assessed
    paid = aw.allowance(store, directory, "2027", cfg=CFG, today=YEAR_TODAY)
    assert paid["assessed"] == 12 and paid["pool"] == paid["paid"] == 12 * 4800
