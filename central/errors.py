"""The errors central's domain code raises, one set for all of central; the web layer maps them
to HTTP statuses (400, 403, 404)."""


class BadRequest(ValueError):
    """A parameter or form field the caller must fix (HTTP 400)."""


class Forbidden(Exception):
    """The caller's role may not do this (HTTP 403)."""


class NotFound(Exception):
    """No such record the caller may see (HTTP 404)."""
