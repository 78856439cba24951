"""The receipt printer (devices/printer.py): a slip's ESC/POS bytes (python-escpos's Dummy
printer) decoded back into the slip, and a printer on the network driven through a real TCP
socket that answers the real-time status queries as a printer does."""

from __future__ import annotations

import socket
import threading

import pytest
from escpos.printer import Dummy

from devices.printer import PrinterFault, Slip, SlipPrinter, decode, render, slip_bytes
from devices.simprinter import SimPrinter

SLIP = Slip(hall="测试校区学生事务大厅", number="A007", department="教务处", windows="1号窗口、2号窗口", ahead=3,
            issued="2026年11月23日 09:00", link="http://192.168.10.2:8100/m/0193-ab/0123456789abcdef0123")


def test_printer_slip_bytes_decode_back_into_the_slip():
    d = Dummy()
    render(d, SLIP)
    slips = decode(d.output)
    assert len(slips) == 1
    s = slips[0]
    assert s.cut and not s.unknown
    big = [ln for ln in s.lines if ln.size == 4]
    assert [ln.text for ln in big] == ["A007"]  # the number, four times the size
    assert s.text[0] == "测试校区学生事务大厅"
    assert "教务处" in s.text
    assert "请到 1号窗口、2号窗口 办理" in s.text
    assert "前面还有 3 人" in s.text
    assert "取号时间 2026年11月23日 09:00" in s.text
    assert s.qr == [SLIP.link]
    assert all(ln.align == "center" for ln in s.lines)


def test_printer_slip_without_a_link_has_no_qr_code_and_long_lines_wrap():
    slip = Slip(hall="大厅", number="F012", department="财务处", windows="3号窗口、6号窗口、7号窗口、8号窗口、9号窗口")
    s = decode(slip_bytes(slip, width=24))[0]
    assert s.qr == []
    assert "扫码查看排队进度" not in s.text
    cols = [sum(2 if ord(c) > 0x2E7F else 1 for c in ln.text) * ln.size for ln in s.lines]
    assert max(cols) <= 24  # every line fits the paper
    assert "请到 3号窗口、6号窗口、7号窗口、8号窗口、9号窗口 办理" in "".join(s.text)


def test_printer_decode_splits_two_slips_at_their_cuts():
    data = slip_bytes(SLIP) + slip_bytes(Slip(hall="大厅", number="A008", department="教务处"))
    numbers = [[ln.text for ln in s.lines if ln.size == 4] for s in decode(data)]
    assert numbers == [["A007"], ["A008"]]


def test_printer_simulated_paper_out_prints_nothing_and_faults():
    sim = SimPrinter()
    p = SlipPrinter("sim", device=sim)
    p.print_slip(SLIP)
    sim.set_paper("out")
    with pytest.raises(PrinterFault) as e:
        p.print_slip(SLIP)
    assert e.value.code == "paper-out"
    sim.set_online(False)
    assert p.status().state == "offline"
    sim.set_online(True)
    sim.set_paper("low")
    assert p.print_slip(SLIP).state == "paper-low"  # near the end still prints
    assert [s.qr for s in sim.slips] == [[SLIP.link], [SLIP.link]]


class SocketPrinter:
    """A network printer on 127.0.0.1: takes the byte stream, answers DLE EOT n with `status[n]`
    (none: stays silent, as a write-only printer does)."""

    def __init__(self, status: dict[int, int] | None = None) -> None:
        self.status = status if status is not None else {1: 0x12, 4: 0x12}
        self.data = bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.hung_up = threading.Event()  # set once a client has closed and all it sent is read
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.server.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.05)
                while not self.stop.is_set():
                    try:
                        chunk = conn.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        self.hung_up.set()
                        break
                    self.data += chunk
                    for i in range(len(chunk) - 2):
                        if chunk[i] == 0x10 and chunk[i + 1] == 0x04 and chunk[i + 2] in self.status:
                            conn.sendall(bytes([self.status[chunk[i + 2]]]))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def socket_printer():
    made = []

    def make(status=None):
        sp = SocketPrinter(status)
        made.append(sp)
        return sp

    yield make
    for sp in made:
        sp.close()


def test_printer_network_prints_the_slip_through_a_socket(socket_printer):
    sp = socket_printer()
    p = SlipPrinter("network", host="127.0.0.1", tcp_port=sp.port, timeout=2)
    assert p.print_slip(SLIP).state == "ok"
    p.close()
    # the bytes may still sit in the socket when the printer has closed: wait for the hang-up
    assert sp.hung_up.wait(5)
    slips = decode(bytes(sp.data))
    assert [s.qr for s in slips] == [[SLIP.link]] and "A007" in slips[0].text


def test_printer_network_paper_out_answer_is_a_paper_out_fault(socket_printer):
    sp = socket_printer({1: 0x12 | 0x08, 4: 0x12 | 0x60 | 0x0C})
    p = SlipPrinter("network", host="127.0.0.1", tcp_port=sp.port, timeout=2)
    with pytest.raises(PrinterFault) as e:
        p.print_slip(SLIP)
    p.close()
    assert e.value.code == "paper-out" and e.value.message == "打印机缺纸"
    assert b"A007" not in sp.data  # nothing printed into an empty printer


def test_printer_that_never_answers_status_still_prints(socket_printer):
    sp = socket_printer({})
    p = SlipPrinter("network", host="127.0.0.1", tcp_port=sp.port, timeout=0.2)
    assert p.print_slip(SLIP).state == "unknown"
    p.close()


def test_printer_unreachable_is_offline():
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    p = SlipPrinter("network", host="127.0.0.1", tcp_port=port, timeout=1)
    with pytest.raises(PrinterFault) as e:
        p.print_slip(SLIP)
    assert e.value.code == "offline" and f"127.0.0.1:{port}" in e.value.message
