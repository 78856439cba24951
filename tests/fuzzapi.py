"""Schema-driven fuzzing of an app's JSON API: schemathesis generates requests from the app's own
OpenAPI document (valid and invalid ones), Litestar's TestClient sends them in-process, and every
answer must be below 500. Bounded: a fixed number of examples per operation, derandomized, so a
run takes the same time and finds the same things every time."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from hypothesis.errors import Unsatisfiable

EXAMPLES = 12  # per operation and mode: enough to reach every parameter's edge cases quickly


def operations(client, skip: Callable[[str, str], bool] = lambda method, path: False):
    """Every operation of the app's /schema/openapi.json (the schema the app serves)."""
    doc = client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    for result in schema.get_all_operations():
        op = result.ok()
        if not skip(op.method.upper(), op.path):
            yield op


def server_errors(client, op, examples: int = EXAMPLES, headers: dict | None = None) -> list[str]:
    """Send `examples` generated requests for `op`, valid ones and invalid ones; return a line
    for each 5xx answer."""
    found: list[str] = []

    def send(case) -> None:
        kw = case.as_transport_kwargs(base_url=str(client.base_url))
        r = client.request(kw["method"], kw["url"], params=kw.get("params"),
                           headers={**kw.get("headers", {}), **(headers or {})}, content=_body(kw),
                           follow_redirects=False)
        if r.status_code >= 500:
            found.append(f"{kw['method']} {kw['url']} params={kw.get('params')} body={_body(kw)!r:.200} "
                         f"-> {r.status_code} {r.text[:200]}")

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        run = settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                       suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])(
            given(case=op.as_strategy(generation_mode=mode))(send))
        try:
            run()
        except Unsatisfiable:
            pass
    return found


# Values that broke parsers before (issue 11): out-of-range numbers, far dates, long ids, deep JSON.
NASTY_PARAMS = ["10" + "0" * 20, "-1", "0", "", "x" * 5000, "0001-01-01", "9999-12-31", "2026-02-30",
                "1e309", "NaN", "%00", "../../etc/passwd", "💥", "12345678901234567890"]
NASTY_BODIES = [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"null", b"[]", b"{}",
                b'"text"', b"1e999", b"{", b'{"item": "' + b"x" * 100_000 + b'"}']


def nasty_errors(client, op, headers: dict | None = None) -> list[str]:
    """Each query and path parameter in turn set to each of NASTY_PARAMS (the others left out
    or "x"), and for operations with a body each of NASTY_BODIES as JSON and as text/plain;
    return a line for each 5xx answer."""
    found: list[str] = []
    params = list(op.iter_parameters())
    path_names = [p.name for p in params if p.location.value == "path"]
    query_names = [p.name for p in params if p.location.value == "query"]
    method = op.method.upper()

    def url(overrides: dict[str, str]) -> str:
        path = op.path
        for name in path_names:
            path = path.replace("{" + name + "}", quote(overrides.get(name, "x"), safe=""))
        return path

    def send(path: str, query: dict | None = None, body: bytes | None = None, ctype: str = "application/json"):
        h = {**(headers or {}), "content-type": ctype} if body is not None else dict(headers or {})
        r = client.request(method, path, params=query, content=body, headers=h, follow_redirects=False)
        if r.status_code >= 500:
            found.append(f"{method} {path} query={query} body={body[:60] if body else None!r} -> "
                         f"{r.status_code} {r.text[:200]}")

    for value in NASTY_PARAMS:
        for name in path_names:
            send(url({name: value}))
        for name in query_names:
            send(url({}), {name: value})
    if op.body:
        for body in NASTY_BODIES:
            send(url({}), body=body)
        send(url({}), body=b'{"item": "x"}', ctype="text/plain")
    return found


def _body(kw: dict) -> bytes | None:
    import json

    if "json" in kw and kw["json"] is not None:
        return json.dumps(kw["json"]).encode()
    data = kw.get("data")
    if isinstance(data, str):
        return data.encode()
    return data
