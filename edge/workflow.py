"""Declared state machines for the hall's workflows, and the domain's refusals.

Each workflow is a table: state → action → next state. A command first asks its workflow
whether the action is allowed from the current state; anything not declared is refused with a
message the staff can read (Chinese) and a stable code for programs.
"""

from __future__ import annotations


class Refused(Exception):
    """A command the hall will not carry out. Nothing was changed."""

    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(Refused):
    status = 404


class StorageUnavailable(Refused):
    """The hall's database could not be written (disk full, read-only, I/O error): the command
    was not carried out and nothing of it was saved. Answered 503; health says `degraded`."""

    status = 503

    def __init__(self, cause: str) -> None:
        super().__init__("storage-unavailable", "本机存储已满或无法写入，本次操作未保存，请联系管理员")
        self.cause = cause


class Invalid(Refused):
    status = 400


class Forbidden(Refused):
    status = 403


class Workflow:
    def __init__(self, name: str, labels: dict[str, str], transitions: dict[str, dict[str, str]]) -> None:
        self.name = name
        self.labels = labels  # state → Chinese label
        self.transitions = transitions
        targets = {t for moves in transitions.values() for t in moves.values()}
        unknown = (set(transitions) | targets) - set(labels)
        if unknown:
            raise ValueError(f"{name}: states without a label: {sorted(unknown)}")

    def next(self, state: str, action: str, what: str = "") -> str:
        try:
            return self.transitions[state][action]
        except KeyError:
            label = self.labels.get(state, state)
            raise Refused(
                f"{self.name}-{state}-cannot-{action}",
                f"{what or self.name}当前状态为「{label}」，不能执行此操作",
            ) from None

    def allows(self, state: str, action: str) -> bool:
        return action in self.transitions.get(state, {})


TICKET = Workflow(
    "ticket",
    {"waiting": "等候中", "called": "已叫号", "serving": "办理中", "done": "已办结",
     "no_show": "过号", "expired": "已作废"},
    {
        "waiting": {"call": "called", "expire": "expired"},
        "called": {"recall": "called", "start": "serving", "complete": "done", "no_show": "no_show",
                   "transfer": "waiting", "expire": "expired"},
        "serving": {"complete": "done", "transfer": "waiting", "expire": "expired"},
        "no_show": {"rejoin": "waiting", "expire": "expired"},
    },
)

WINDOW = Workflow(
    "window",
    {"closed": "未开放", "idle": "空闲", "serving": "服务中", "paused": "暂停服务"},
    {
        "closed": {"sign_on": "idle"},
        "idle": {"call": "serving", "pause": "paused", "sign_off": "closed"},
        "serving": {"recall": "serving", "start": "serving", "complete": "idle", "no_show": "idle",
                    "transfer": "idle"},
        "paused": {"resume": "idle", "sign_off": "closed"},
    },
)

CASE = Workflow(
    "case",
    {"open": "办理中", "closed": "已办结"},
    {"open": {"handoff": "open", "supply": "open", "finish": "closed"}},
)
