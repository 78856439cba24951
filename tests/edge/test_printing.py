"""The kiosk's receipt printer (edge/printing.py) through HTTP and the simulated ESC/POS printer:
a slip for every number taken (its bytes decoded back), paper out and offline as device faults
the kiosk tells the visitor about while the number is still issued, recovery, reprints by number
from the console and the manager's page, the doctor's printer line and `[devices.printer]`."""

from __future__ import annotations

import pytest

from edge import doctor, phone
from edge.config import ConfigError, load
from tests.conftest import EVENTS_TOKEN, HALL_TOML, MANAGER_PASSWORD, PIN, edge_client
from tests.devices.test_printer import SocketPrinter

PUBLIC_URL = "http://192.168.10.2:8100"
PRINTER_TOML = """
[devices.printer]
kind = "usb"
usb_vendor = 0x0416
usb_product = 0x5011
retry_seconds = 3600
"""


def hall_text(printer: str = PRINTER_TOML, public_url: str = PUBLIC_URL) -> str:
    line = 'complaint_phone = "0000-1234567"'
    return HALL_TOML.replace(line, f'{line}\npublic_url = "{public_url}"') + printer


@pytest.fixture
def printer_hall(tmp_path, clock):
    from edge.hall import Hall

    p = tmp_path / "printer-hall.toml"
    p.write_text(hall_text(), encoding="utf-8")
    h = Hall(load(p), tmp_path / "printer-data", clock)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def printing(printer_hall):
    from edge.printing import Printing

    pr = Printing(printer_hall, printer_hall.config.devices.printer, simulate=True)
    pr.start()
    pr.idle()
    yield pr
    pr.stop()


def _client(hall, printing):
    from edge.app import create_app

    return edge_client(create_app(hall, simulate=True, printing=printing, tick_seconds=3600,
                                  events_token=EVENTS_TOKEN))


@pytest.fixture
def pclient(printer_hall, printing):
    with _client(printer_hall, printing) as c:
        yield c


def events(hall, kind: str) -> list[dict]:
    import msgspec

    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 10000) if e.kind == kind]


def take(c, item: str = "transcript"):
    r = c.post("/kiosk/tickets", data={"item": item}, follow_redirects=True)
    assert r.status_code == 200, r.text
    return r


def issued_number(hall) -> str:
    return events(hall, "ticket.issued")[-1]["number"]


def test_printing_ticket_over_http_prints_its_slip_with_the_phone_link(pclient, printer_hall, printing):
    r = pclient.post("/api/tickets", json={"item": "transcript"})
    assert r.status_code == 201
    t = r.json()
    printing.idle()
    slip = printing.sim.slips[-1]
    assert [ln.text for ln in slip.lines if ln.size == 4] == [t["number"]]
    assert slip.text[0] == "测试校区学生事务大厅"
    assert "教务处" in slip.text and "请到 1号窗口、2号窗口 办理" in slip.text
    assert f"前面还有 {t['waiting_ahead']} 人" in slip.text
    assert any(line.startswith("取号时间 2026年11月23日 09:00") for line in slip.text)
    link = printer_hall.call(phone.ticket_link, t["id"])
    assert link and link.startswith(PUBLIC_URL + "/m/") and slip.qr == [link]
    assert slip.cut
    assert printing.results[t["id"]] == "printed"


def test_printing_no_public_url_no_qr_code(tmp_path, clock):
    from edge.hall import Hall
    from edge.printing import Printing

    p = tmp_path / "noqr.toml"
    p.write_text(hall_text(public_url=""), encoding="utf-8")
    h = Hall(load(p), tmp_path / "noqr-data", clock)
    h.start()
    try:
        with Printing(h, h.config.devices.printer, simulate=True) as pr:
            with _client(h, pr) as c:
                assert c.post("/api/tickets", json={"department": "finance"}).status_code == 201
            pr.idle()
            assert pr.sim.slips[-1].qr == [] and "F001" in pr.sim.slips[-1].text
    finally:
        h.stop()


def test_printing_paper_out_is_a_device_fault_and_the_kiosk_says_so_while_the_number_is_issued(
        pclient, printer_hall, printing):
    r = pclient.post("/api/sim/printer", json={"paper": "out"})
    assert r.status_code == 200 and r.json()["printer_state"] == "paper-out"
    faults = events(printer_hall, "device.fault")
    assert faults == [{"device": "kiosk-printer", "device_kind": "printer", "message": "打印机缺纸"}]
    before = len(printing.sim.slips)
    page = take(pclient)
    number = issued_number(printer_hall)
    assert number in page.text  # the number is on the screen
    assert "打印机缺纸，未能打印号码条，请记下您的号码" in page.text
    printing.idle()
    assert len(printing.sim.slips) == before  # nothing printed into the empty printer
    assert len(events(printer_hall, "device.fault")) == 1  # one fault, not one per ticket
    alerts = pclient.get("/api/display").json()["alerts"]
    assert any(a["kind"] == "device" and a["text"] == "设备故障：取号打印机" for a in alerts)


def test_printing_printer_back_clears_the_fault(pclient, printer_hall, printing):
    pclient.post("/api/sim/printer", json={"paper": "out"})
    take(pclient)
    r = pclient.post("/api/sim/printer", json={"paper": "ok"})
    assert r.json()["printer_state"] == "ok"
    recovered = events(printer_hall, "device.recovered")
    assert [(e["device"], e["device_kind"]) for e in recovered] == [("kiosk-printer", "printer")]
    assert not [a for a in pclient.get("/api/display").json()["alerts"] if a["kind"] == "device"]
    page = take(pclient)
    assert "请记下您的号码" not in page.text
    printing.idle()
    assert issued_number(printer_hall) in printing.sim.slips[-1].text


def test_printing_offline_printer_is_a_fault_and_numbers_are_still_issued(pclient, printer_hall, printing):
    pclient.post("/api/sim/printer", json={"online": False})
    r = pclient.post("/api/tickets", json={"item": "transcript"})
    assert r.status_code == 201
    printing.idle()
    assert printing.results[r.json()["id"]] == "offline"
    fault = events(printer_hall, "device.fault")[-1]
    assert fault["device_kind"] == "printer" and "打印机无法连接" in fault["message"]
    page = pclient.get(f"/kiosk/tickets/{r.json()['id']}")
    assert "打印机暂时无法使用，未能打印号码条，请记下您的号码" in page.text
    pclient.post("/api/sim/printer", json={"online": True})
    assert events(printer_hall, "device.recovered")


def test_printing_a_stuck_printer_never_holds_up_issuing(pclient, printer_hall, printing):
    with printing.sim._lock:  # the printer hangs in the middle of a job
        numbers = [pclient.post("/api/tickets", json={"item": "transcript"}).json()["number"] for _ in range(3)]
        assert numbers == ["A001", "A002", "A003"]
    printing.idle()
    printed = [[ln.text for ln in s.lines if ln.size == 4][0] for s in printing.sim.slips]
    assert printed == numbers


def sign_on(c, window: str = "W1", staff: str = "s-li"):
    r = c.post(f"/console/{window}/sign-on", data={"staff": staff, "pin": PIN}, follow_redirects=True)
    assert "签到成功" in r.text
    return c


def test_printing_reprint_by_number_from_the_console_is_printed_and_recorded(pclient, printer_hall, printing):
    pclient.post("/api/tickets", json={"item": "transcript"})
    sign_on(pclient)
    r = pclient.post("/console/W1/reprint", data={"number": "a001"}, follow_redirects=True)
    assert "已补打号码条 A001" in r.text
    printing.idle()
    slip = printing.sim.slips[-1]
    assert "排队号（补打）" in slip.text and "A001" in slip.text
    assert events(printer_hall, "slip.reprinted")[-1] | {"ticket": ""} == {
        "ticket": "", "number": "A001", "by": "s-li", "role": "staff", "printed": True}


def test_printing_reprint_refused_without_a_session(printer_hall, printing):
    with _client(printer_hall, printing) as c:
        c.post("/api/tickets", json={"item": "transcript"})
        printing.idle()
        before = len(printing.sim.slips)
        r = c.post("/console/W1/reprint", data={"number": "A001"}, follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"].endswith("/console/W1")
        r = c.post("/manage/reprint", data={"number": "A001"}, follow_redirects=False)
        assert r.status_code in (302, 303) and "/manage/login" in r.headers["location"]
    printing.idle()
    assert len(printing.sim.slips) == before
    assert events(printer_hall, "slip.reprinted") == []


def test_printing_reprint_of_an_unknown_number_is_refused(pclient, printer_hall, printing):
    sign_on(pclient)
    r = pclient.post("/console/W1/reprint", data={"number": "A999"}, follow_redirects=True)
    assert "今日没有号码 A999，无法补打" in r.text
    assert events(printer_hall, "slip.reprinted") == []


def test_printing_reprint_from_the_manager_page_and_while_out_of_paper(pclient, printer_hall, printing):
    pclient.post("/api/tickets", json={"department": "finance"})
    r = pclient.post("/manage/login", data={"manager": "manager", "password": MANAGER_PASSWORD},
                     follow_redirects=True)
    assert "补打号码条" in r.text
    r = pclient.post("/manage/reprint", data={"number": "F001"}, follow_redirects=True)
    assert "已补打号码条 F001" in r.text
    pclient.post("/api/sim/printer", json={"paper": "out"})
    r = pclient.post("/manage/reprint", data={"number": "F001"}, follow_redirects=True)
    assert "号码 F001 补打失败：打印机缺纸" in r.text
    assert [(e["by"], e["role"], e["printed"]) for e in events(printer_hall, "slip.reprinted")] == [
        ("manager", "manager", True), ("manager", "manager", False)]


def test_printing_sim_page_shows_the_decoded_slips_and_switches_paper(pclient, printer_hall, printing):
    pclient.post("/api/tickets", json={"item": "transcript"})
    printing.idle()
    page = pclient.get("/sim")
    assert "号码条打印机" in page.text and "A001" in page.text and PUBLIC_URL + "/m/" in page.text
    r = pclient.post("/sim/printer", data={"paper": "out"}, follow_redirects=True)
    assert "缺纸" in r.text
    assert printing.state == "paper-out"
    assert pclient.post("/api/sim/printer", json={}).status_code == 400


# ---------------------------------------------------------------- doctor and configuration


def doctor_hall(tmp_path, printer: str):
    from edge.config import load as load_config

    p = tmp_path / "doctor-hall.toml"
    p.write_text(hall_text(printer), encoding="utf-8")
    return load_config(p)


def network_printer(port: int) -> str:
    return f'\n[devices.printer]\nkind = "network"\nhost = "127.0.0.1:{port}"\ntimeout_seconds = 1\n'


def test_doctor_printer_line_online_paper_out_and_unreachable(tmp_path):
    sp = SocketPrinter()
    try:
        check = doctor.check_printer(doctor_hall(tmp_path, network_printer(sp.port)), simulate=False)
        assert check.mark == doctor.OK and check.detail == f"127.0.0.1:{sp.port} online, paper loaded"
        sp.status = {1: 0x12 | 0x08, 4: 0x12 | 0x6C}
        check = doctor.check_printer(doctor_hall(tmp_path, network_printer(sp.port)), simulate=False)
        assert check.failed and "out of paper" in check.detail and "new roll" in check.fix
    finally:
        sp.close()
    check = doctor.check_printer(doctor_hall(tmp_path, network_printer(sp.port)), simulate=False)
    assert check.failed and "打印机无法连接" in check.detail and "$.devices.printer.host" in check.fix
    assert doctor.check_printer(doctor_hall(tmp_path, ""), simulate=False).mark == doctor.SKIP
    assert doctor.check_printer(doctor_hall(tmp_path, PRINTER_TOML), simulate=True).mark == doctor.SKIP


@pytest.mark.parametrize("printer, field", [
    ('kind = "usb"\nusb_vendor = 0x0416', "usb_product"),
    ('kind = "serial"\nport = "/dev/ttyUSB3"\nhost = "10.0.0.5"', "host"),
    ('kind = "network"', "host"),
    ('kind = "network"\nhost = "10.0.0.5:70000"', "host"),
    ('kind = "parallel"', "kind"),
    ('kind = "serial"\nport = "/dev/ttyUSB3"\nwidth = 8', "width"),
])
def test_config_printer_errors_name_the_file_and_the_field(tmp_path, printer, field):
    p = tmp_path / "bad.toml"
    p.write_text(hall_text(f"\n[devices.printer]\n{printer}\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(p)
    assert str(p) in str(e.value) and f"$.devices.printer.{field}" in str(e.value)
