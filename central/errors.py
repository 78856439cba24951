"""The errors central's domain code raises, one set for all of central; the web layer maps them
to HTTP statuses (400, 403, 404)."""

from sync.kernel.httperrors import code_of, plain_detail


class BadRequest(ValueError):
    """A parameter or form field the caller must fix (HTTP 400)."""


class Forbidden(Exception):
    """The caller's role may not do this (HTTP 403)."""


class NotFound(Exception):
    """No such record the caller may see (HTTP 404)."""


# ---------------------------------------------------------------------------- error answers
# Every error answer of central is JSON `{"status_code", "code", "detail", "extra"?, "request_id"?}`
# (docs/central.md, "Errors"): `code` is stable for programs, by HTTP status; a 400 is always
# `invalid-request` (a parameter, form field or body the caller must fix).

def error_body(status: int, detail: str, **more) -> dict:
    """An error answer's JSON body."""
    return {"status_code": status, "code": code_of(status), "detail": plain_detail(detail), **more}
