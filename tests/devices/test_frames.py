"""The badge readers' wire protocols, byte by byte (INTERFACES.md "Serial badge readers")."""

from __future__ import annotations

import pytest

from devices.frames import LineParser, Rdm6300Parser, line_frame, rdm6300_frame, xor_checksum

CARD = "0A00C3D2F1"


def test_frames_rdm6300_frame_layout_is_stx_ten_hex_two_hex_checksum_etx():
    f = rdm6300_frame(CARD)
    assert len(f) == 14 and f[0] == 0x02 and f[-1] == 0x03
    assert f[1:11] == CARD.encode()
    assert int(f[11:13], 16) == 0x0A ^ 0x00 ^ 0xC3 ^ 0xD2 ^ 0xF1 == xor_checksum(CARD)


def test_frames_rdm6300_parser_reads_standard_clone_and_crlf_frames():
    p = Rdm6300Parser()
    data = rdm6300_frame(CARD) + rdm6300_frame(CARD, clone=True) + rdm6300_frame(CARD, crlf=True) \
        + rdm6300_frame(CARD, clone=True, crlf=True)
    assert len(rdm6300_frame(CARD, clone=True)) == 13
    assert p.feed(data) == [CARD] * 4
    assert p.rejected == 0


def test_frames_rdm6300_parser_upper_cases_the_card_id():
    p = Rdm6300Parser()
    frame = b"\x02" + CARD.lower().encode() + f"{xor_checksum(CARD):02x}".encode() + b"\x03"
    assert p.feed(frame) == [CARD]


@pytest.mark.parametrize("card", ["0000000002", "0000000003", "000000000D", "000000000A", "0000000041"])
def test_frames_rdm6300_parser_clone_checksum_byte_may_look_like_stx_etx_cr_lf_or_hex(card):
    p = Rdm6300Parser()
    assert p.feed(rdm6300_frame(card, clone=True) + rdm6300_frame(CARD)) == [card, CARD]
    assert p.rejected == 0


def test_frames_rdm6300_parser_rejects_a_bad_checksum_and_keeps_reading():
    p = Rdm6300Parser("hall")
    assert p.feed(rdm6300_frame(CARD, corrupt=True) + rdm6300_frame(CARD, corrupt=True, clone=True)
                  + rdm6300_frame("0A00C3D2F2")) == ["0A00C3D2F2"]
    assert p.rejected == 2


def test_frames_rdm6300_parser_skips_garbage_and_resyncs_on_the_next_stx():
    p = Rdm6300Parser("hall")
    junk = b"\xff\x00hello\x03\r\n"
    truncated = rdm6300_frame(CARD)[:7]  # cut short: the next STX starts a new frame
    not_hex = b"\x02" + b"0A00XYZ2F1" + b"00\x03"
    too_long = b"\x02" + CARD.encode() + b"0000000000\x03"
    assert p.feed(junk + truncated + rdm6300_frame(CARD) + not_hex + too_long + rdm6300_frame(CARD)) == [CARD, CARD]
    assert p.rejected == 3
    assert p.skipped_bytes >= len(junk)


def test_frames_rdm6300_parser_assembles_frames_fed_one_byte_at_a_time():
    p = Rdm6300Parser()
    out = []
    for b in rdm6300_frame(CARD) * 3 + rdm6300_frame(CARD, clone=True, crlf=True):
        out += p.feed(bytes([b]))
    assert out == [CARD] * 4


def test_frames_rdm6300_frame_refuses_a_card_that_is_not_ten_hex_digits():
    with pytest.raises(ValueError):
        rdm6300_frame("12345")


def test_frames_line_parser_reads_decimal_and_hex_ids_with_any_line_ending():
    p = LineParser()
    assert p.feed(b"0012835569\r\n0a00c3d2f1\n7788\r\r\n") == ["0012835569", "0A00C3D2F1", "7788"]
    assert p.feed(line_frame("12") + line_frame("34", b"\r")) == ["12", "34"]


def test_frames_line_parser_skips_lines_that_are_not_card_ids_and_overlong_lines():
    p = LineParser("w1")
    assert p.feed(b"hello world\r\n" + b"9" * 200 + b"\n" + b"\xff\xfe\n" + b"42\n") == ["42"]
    assert p.rejected == 3


def test_frames_line_parser_keeps_a_partial_line_until_its_end_arrives():
    p = LineParser()
    assert p.feed(b"123") == []
    assert p.feed(b"45\r\n") == ["12345"]
