"""A small keep-alive JSON client over `http.client` (one connection, one thread).

The load generators need many requests on a few persistent connections with as little client
overhead as possible; `http.client` does exactly that and adds no dependency. A connection that
broke (the server closed it) is reopened once and the request retried.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any

_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


class Client:
    """`auth` (user, password): sent as HTTP Basic with every request (central's API needs a login)."""

    def __init__(self, host: str, port: int, timeout: float = 10.0, auth: tuple[str, str] | None = None) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._conn: http.client.HTTPConnection | None = None
        self._headers = dict(_JSON)
        if auth is not None:
            self._headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; returns (status, decoded JSON body or None). Raises OSError (and
        http.client.HTTPException) when the server cannot be reached."""
        payload = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=self._headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest):
                self.close()
                if attempt == 2:
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            decoded = json.loads(data) if data else None
        except ValueError:
            decoded = data.decode(errors="replace")
        return resp.status, decoded

    def get(self, path: str) -> Any:
        """GET a JSON resource that must answer 200."""
        status, body = self.request("GET", path)
        if status != 200:
            raise http.client.HTTPException(f"GET {path} answered {status}: {body}")
        return body

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
