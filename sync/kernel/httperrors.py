"""The error answer both HTTP services give (docs/api.md and docs/central.md, "Errors"): JSON
`{"status_code", "code", "detail", "extra"?, "request_id"?}` with a `code` stable for programs,
by HTTP status (a 400 is always `invalid-request`; the hall's own refusals carry their own
codes), and a `detail` in Chinese."""

from __future__ import annotations

STATUS_CODES = {400: "invalid-request", 401: "not-authorized", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
                429: "too-many-requests", 500: "internal-error", 503: "unavailable"}
# The framework's own English details of a bare 404/405 (no route, wrong method), said in Chinese.
PLAIN_DETAILS = {"Not Found": "没有这个地址", "Method Not Allowed": "该地址不支持此请求方法"}
SOURCES = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头", "cookie": "Cookie"}


def code_of(status: int) -> str:
    """The stable `code` of an error answer of this HTTP status ("error" for one not listed)."""
    return STATUS_CODES.get(status, "error")


def plain_detail(detail: str) -> str:
    """A framework detail in Chinese where it is one of its bare English ones."""
    return PLAIN_DETAILS.get(detail, detail)


def invalid_request_detail(extra: list | None) -> str:
    """The Chinese `detail` of a request the framework could not validate or decode (a 400 of
    litestar's ClientException): the fields that failed, by name and where they were sent; the
    framework's own (English) messages stay in the answer's `extra`."""
    fields = []
    for e in extra or []:
        if not isinstance(e, dict):
            continue
        source = getattr(e.get("source"), "value", e.get("source"))  # litestar's ParamType or a str
        where = SOURCES.get(str(source or ""), "")
        key = str(e.get("key") or "")
        name = "请求体" if key in ("", "data") and source == "body" else key
        fields.append(f"{name}（{where}）" if where and name != where else name)
    fields = [f for f in dict.fromkeys(fields) if f]
    return f"请求参数不正确：{'、'.join(fields)}" if fields else "请求内容无法解析（格式不正确）"
