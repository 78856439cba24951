"""The slip's link to the ticket's phone page (edge.phone): only the hall can make it."""

from __future__ import annotations

import msgspec

from edge import phone
from edge.hall import Hall


def test_phone_link_is_stable_per_ticket_and_unguessable(hall, config, clock, tmp_path):
    a = hall.call(phone.ticket_tag, "0190-ticket-a")
    b = hall.call(phone.ticket_tag, "0190-ticket-b")
    assert a != b and len(a) == phone.TAG_CHARS
    assert hall.call(phone.tag_matches, "0190-ticket-a", a.upper())
    assert not hall.call(phone.tag_matches, "0190-ticket-b", a)
    assert hall.call(phone.ticket_link, "0190-ticket-a") is None  # no [hall] public_url
    hall.stop()
    # the key is kept in the database: a restart keeps every printed link working
    again = Hall(msgspec.structs.replace(config, hall=msgspec.structs.replace(
        config.hall, public_url="http://192.168.10.2:8100")), tmp_path / "data", clock)
    again.start()
    try:
        assert again.call(phone.ticket_tag, "0190-ticket-a") == a
        assert again.call(phone.ticket_link, "0190-ticket-a") == \
            f"http://192.168.10.2:8100/m/0190-ticket-a/{a}"
    finally:
        again.stop()
    # another hall database makes other links
    other = Hall(config, tmp_path / "other", clock)
    other.start()
    try:
        assert other.call(phone.ticket_tag, "0190-ticket-a") != a
    finally:
        other.stop()
