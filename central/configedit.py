"""Editing each hall's business configuration at central (issue 5): versioned revisions kept in
central's database, validated exactly as the edge validates what it receives, and pushed to the
hall at once through the retained, versioned config downlink (`CentralService.publish_config`).

- A revision is the whole `sync.kernel.business.Business` of one hall as JSON, with its version, who
  made it, when, a comment and a summary of what changed (table `config_revisions`,
  migration 5). Versions of one hall are unique; an edit takes
  max(file version, newest stored revision, version the hall reports as applied) + 1, so the
  edge (which refuses anything not newer than what it runs) always takes it.
- Versions are bounded: a hall's reported version counts only when it is plausible (at most
  `VERSION_SLACK` beyond what central knows of — its file, its revisions, what it publishes);
  an absurd one (a forged 2**63-1) is logged and ignored, so the next edit never overflows. No
  edit makes a version above `MAX_VERSION` (409 instead; `ConfigEditor.next_version`). Both bounds are
  the wire's (`wire.MAX_CONFIG_VERSION`, `wire.MAX_VERSION_STEP`), which the halls apply too.
- Every edit names the version it was made on (`base_version`): a stale one answers 409 and
  changes nothing (another edit came first).
- At start central runs, per hall, the newest of its hall file's configuration and the newest
  stored revision (`ConfigEditor.__init__` puts it into the `HallEntry`, so the downlink, the
  directory and the reports all use it). A file bumped past the stored revisions wins.
- Validation is the edge's: the message goes through `sync.contract.wire` encode/decode of a
  `ConfigMessage` (strict msgspec types) and `sync.kernel.business.check`; errors come back in Chinese
  naming the field.

The `config_revisions` table and its queries are in central.store (`schema.bind_revision`,
`revisions`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import msgspec

from sync.kernel import business as biz
from sync.kernel.configfile import ConfigError
from sync.contract import wire
from sync.kernel.calendar import HallCalendar

from .store import revisions

log = logging.getLogger("onestop.central.configedit")


# ---------------------------------------------------------------- validation (the edge's)


class EditError(ValueError):
    """An edit that cannot be saved; `message` is Chinese and names the field. `status` is the
    HTTP status to answer (400 invalid, 403 not allowed, 409 edited meanwhile)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


_WHAT = {"department id": "部门编号", "ticket prefix": "取号前缀", "item id": "事项编号", "material id": "材料编号",
         "window id": "窗口编号", "staff id": "人员编号", "card": "卡号", "leave kind": "请假类别",
         "level": "评价等级", "manager id": "管理员编号"}
_MESSAGES: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"^duplicate (.+?) '(.*)'$"), lambda m: f"{_WHAT.get(m[1], m[1])}“{m[2]}”重复"),
    (re.compile(r"^unknown department '(.*)'$"), lambda m: f"未知部门“{m[1]}”"),
    (re.compile(r"^not another known department: '(.*)'$"), lambda m: f"协办部门“{m[1]}”不是另一个已知部门"),
    (re.compile(r"^a promised item needs promise_days"), lambda m: "承诺件的承诺时限至少为 1 个工作日"),
    (re.compile(r"^a joint item needs co_departments"), lambda m: "联办事项需要填写协办部门"),
    (re.compile(r"^unknown time zone '(.*)'$"), lambda m: f"未知时区“{m[1]}”"),
    (re.compile(r"^at least one work period"), lambda m: "至少需要一个工作时段"),
    (re.compile(r"^periods must be ordered"), lambda m: "工作时段须按时间先后排列且不能重叠"),
    (re.compile(r"^end is before start$"), lambda m: "结束日期早于开始日期"),
    (re.compile(r"^(\S+) is not a weekend day$"), lambda m: f"{m[1]} 不是周末，不能设为调休上班日"),
    (re.compile(r"^end must be after start$"), lambda m: "结束时间必须晚于开始时间"),
    (re.compile(r"^a periodic window needs weekdays"), lambda m: "定期窗口需要填写开放的星期"),
    (re.compile(r"^a card id is"), lambda m: "卡号须为 10 位大写十六进制数字或十进制数字"),
    (re.compile(r"^not a pbkdf2_sha256 hash"), lambda m: "不是有效的密码散列"),
    (re.compile(r"^unknown window '(.*)'$"), lambda m: f"未知窗口“{m[1]}”"),
    (re.compile(r"^window '(.*)' belongs to another department$"), lambda m: f"窗口“{m[1]}”属于其他部门"),
    (re.compile(r"^late_grace_minutes \+ early_grace_minutes .* \((\d+) minutes\)"),
     lambda m: f"迟到与早退宽限分钟数之和须小于最短的工作时段（{m[1]} 分钟）"),
    # schedules [B 10], rotations [B 14], duty rosters [J 29, U 22, B 29] (sync.kernel.business)
    (re.compile(r"^only a periodic window has schedules"), lambda m: "只有定期窗口可以按学期设置开放星期"),
    (re.compile(r"^overlaps schedules\[(\d+)\]"), lambda m: f"与第 {int(m[1]) + 1} 个学期安排的日期重叠"),
    (re.compile(r"^a rotation needs staff$"), lambda m: "轮班需要列出人员"),
    (re.compile(r"^'(.*)' is not an A-role staff member of window '(.*)'$"),
     lambda m: f"“{m[1]}”不是窗口“{m[2]}”的A岗人员，不能列入轮班"),
    (re.compile(r"^A-role staff of window '(.*)' missing from the rotation: (.*)$"),
     lambda m: f"窗口“{m[1]}”的A岗人员未列入轮班：{m[2]}"),
    (re.compile(r"^no window of department '(.*)' at this hall$"), lambda m: f"本大厅没有部门“{m[1]}”的窗口"),
    (re.compile(r"^a duty entry needs days$"), lambda m: "值班安排需要填写值班日期"),
    (re.compile(r"^a duty entry needs staff$"), lambda m: "值班安排需要填写值班人员"),
    (re.compile(r"^(\S+) is not a duty day of any vacation"), lambda m: f"{m[1]} 不是任何假期的值班日"),
    (re.compile(r"^'(.*)' is not a window of department '(.*)'$"), lambda m: f"“{m[1]}”不是部门“{m[2]}”的窗口"),
    (re.compile(r"^unknown staff '(.*)'"), lambda m: f"未知人员“{m[1]}”（须先列入人员名单）"),
    (re.compile(r"^'(.*)' belongs to department '(.*)'$"), lambda m: f"“{m[1]}”属于部门“{m[2]}”，不能在本部门值班"),
    (re.compile(r"^'(.*)' is already on duty on (\S+)"), lambda m: f"“{m[1]}”在 {m[2]} 已有值班安排"),
]


def chinese(e: biz.BusinessError) -> str:
    for pattern, make in _MESSAGES:
        m = pattern.match(e.message)
        if m:
            return f"{make(m)}（位置 {e.path}）"
    return f"配置校验未通过：{e.message}（位置 {e.path}）"


def validate(hall: str, b: biz.Business) -> biz.Business:
    """What the edge does with a ConfigMessage (sync.replicator decodes it, edge.syncing checks
    it): raises EditError in Chinese when the edge would refuse it; returns the decoded copy."""
    msg = wire.ConfigMessage(v=wire.V, hall=hall, version=b.version, business=b, ts=0)
    try:
        got: wire.ConfigMessage = wire.decode(wire.encode(msg), wire.ConfigMessage)
    except wire.WireError as e:
        text = str(e)
        if " - at `" in text:
            message, _, path = text.rpartition(" - at `")
            message = message.removeprefix("not a valid ConfigMessage: ")
            raise EditError(f"格式不正确（位置 {path.rstrip('`')}）：{message}") from None
        raise EditError(f"格式不正确：{text}") from None
    try:
        biz.check(got.business)
    except biz.BusinessError as e:
        raise EditError(chinese(e)) from None
    return got.business


# ---------------------------------------------------------------- change summaries

FIELD_NAMES = {
    "name": "名称", "audience": "服务对象", "basis": "办理依据", "process": "办理流程", "materials": "所需材料",
    "location": "办理地点", "mode": "办理方式", "promise_days": "承诺时限", "co_departments": "协办部门",
    "department": "部门", "phone": "电话", "card": "卡号", "windows": "A岗窗口", "backup_for": "B岗窗口",
    "title": "职务", "kind": "人员类别", "head": "窗口负责人", "holidays": "节假日", "workdays": "调休上班日",
    "closures": "闭厅时段", "vacations": "假期与值班", "forms": "标准表格", "fee": "收费",
    "service_minutes": "办理时长", "appointment": "预约", "keywords": "关键词",
}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "…"


def diff(old: msgspec.Struct | None, new: msgspec.Struct) -> list[str]:
    """`字段: old → new` for every top-level field that differs (defaults included)."""
    a = msgspec.to_builtins(old) if old is not None else {}
    b = msgspec.to_builtins(new)
    out = []
    for f in new.__struct_fields__:
        va = a.get(f, _field_default(type(new), f)) if old is not None else None
        vb = b.get(f, _field_default(type(new), f))
        if old is None or va != vb:
            out.append(f"{FIELD_NAMES.get(f, f)}: {_short(va) if old is not None else '（新增）'} → {_short(vb)}")
    return out


def _field_default(cls: type, f: str) -> Any:
    info = msgspec.inspect.type_info(cls)
    for fld in info.fields:
        if fld.name == f:
            if fld.default is not msgspec.NODEFAULT:
                return msgspec.to_builtins(fld.default)
            if fld.default_factory is not msgspec.NODEFAULT:
                return msgspec.to_builtins(fld.default_factory())
    return None


# ---------------------------------------------------------------- the editor


MAX_VERSION = wire.MAX_CONFIG_VERSION  # the largest configuration version central makes
VERSION_SLACK = wire.MAX_VERSION_STEP  # how far a hall's reported version may run ahead of central's


@dataclass
class Versions:
    hall: str
    name: str
    file: int
    stored: int | None
    current: int
    applied: int | None
    online: bool
    reported: int | None = None  # what the hall reported, when implausible (applied is then None)

    @property
    def landed(self) -> bool:
        return self.applied is not None and self.applied >= self.current


def now_us() -> int:
    return time.time_ns() // 1000


class ConfigEditor:
    """Revisions of every hall's business configuration, and the push to the halls.

    `halls`: the `HallEntry`s as loaded from the hall files; their `business` is replaced by a
    newer stored revision at construction (and by every edit), so everything holding these
    entries (the downlink configs built from them, `Directory`) runs the current version.
    `service`: the running `CentralService` (None: edits are stored but not published)."""

    def __init__(self, store, halls: Iterable, service=None, directory=None, clock: Callable[[], int] = now_us,
                 fix_days: int | None = None):
        self.store = store
        # central's one bad-rating follow-up deadline ([followups] fix_days): every configuration
        # pushed down must carry it as rules.ratings.followup_days (None: not checked)
        self.fix_days = fix_days
        self.service = service
        self.directory = directory
        self.clock = clock
        self.entries = {h.id: h for h in halls}
        self.file = {hid: h.business for hid, h in self.entries.items()}
        self._lock = threading.Lock()
        for hid in self.entries:
            self._install_newer(hid, "hall %s runs stored configuration version %d (file has %d)")
            got = self.entries[hid].business.rules.ratings.followup_days
            if fix_days is not None and got != fix_days:
                raise ConfigError(f"stored configuration of hall {hid!r} version {self.entries[hid].business.version}: "
                                  f"field $.rules.ratings.followup_days: {got} differs from [followups] fix_days = "
                                  f"{fix_days}; bump the hall file's version past it with the same followup_days")

    def _install_newer(self, hall: str, message: str) -> None:
        """Install the newest stored revision of `hall` if it is newer than the one running, and
        log `message` (with the hall, the stored version and the running version)."""
        stored = self.latest(hall)
        running = self.entries[hall].business.version
        if stored is not None and stored.version > running:
            log.info(message, hall, stored.version, running)
            self._install(hall, stored)

    # -- reading

    def latest(self, hall: str) -> biz.Business | None:
        """The newest stored revision of `hall` that still decodes and checks, or None."""
        for row in revisions.newest(self.store, hall, 5):
            try:
                b = biz.decode(row.business.encode())
                biz.check(b)
                return b
            except (msgspec.ValidationError, msgspec.DecodeError, biz.BusinessError) as e:
                log.error("stored configuration %s version %d unusable: %s", hall, row.version, e)
        return None

    def current(self, hall: str) -> biz.Business:
        if hall not in self.entries:
            raise EditError(f"没有大厅“{hall}”", 404)
        return self.entries[hall].business

    def stored_version(self, hall: str) -> int | None:
        return revisions.max_version(self.store, hall)

    def revisions(self, hall: str | None = None, limit: int = 50) -> list[dict]:
        return revisions.listing(self.store, hall, limit)

    def revision(self, hall: str, version: int) -> biz.Business | None:
        row = revisions.get(self.store, hall, version)
        return biz.decode(row.business.encode()) if row else None

    def reported(self) -> dict[str, tuple[int | None, bool]]:
        """hall → (config version the hall last reported in its status, as reported; online)."""
        out = {}
        for h in self.store.halls():
            v = (h.get("status") or {}).get("config_version")
            out[h["id"]] = (v if type(v) is int else None, bool(h["online"]))
        return out

    def known(self, hall: str) -> int:
        """The newest version central itself knows of for `hall` (file, revisions, running)."""
        return max(self.entries[hall].business.version, self.file[hall].version, self.stored_version(hall) or 0)

    def plausible(self, hall: str, version: int | None) -> bool:
        return version is not None and 0 <= version <= min(MAX_VERSION, self.known(hall) + VERSION_SLACK)

    def applied(self) -> dict[str, tuple[int | None, bool]]:
        """hall → (config version the hall last reported in its status, online); an implausible
        report (`plausible`) is None and logged."""
        out = {}
        for hid, (v, online) in self.reported().items():
            if v is not None and hid in self.entries and not self.plausible(hid, v):
                log.warning("hall %s reports configuration version %d, implausible (central knows %d): ignored",
                            hid, v, self.known(hid))
                v = None
            out[hid] = (v, online)
        return out

    def versions(self) -> list[Versions]:
        reported = self.reported()
        out = []
        for hid, entry in sorted(self.entries.items()):
            r, online = reported.get(hid, (None, False))
            ok = r is None or self.plausible(hid, r)
            out.append(Versions(hall=hid, name=entry.name, file=self.file[hid].version,
                                stored=self.stored_version(hid), current=entry.business.version,
                                applied=r if ok else None, online=online, reported=None if ok else r))
        return out

    # -- editing

    def edit(self, hall: str, who: str, change: Callable[[biz.Business], biz.Business], *, what: str,
             summary: Callable[[biz.Business, biz.Business], list[str]], comment: str = "",
             base_version: int | None = None) -> tuple[int | None, list[str]]:
        """Apply `change` to the hall's current configuration; validate, store a new revision,
        audit and publish it. Returns (new version, change lines); (None, []) when nothing
        changed. Raises EditError (nothing stored) when the result is not valid or the
        configuration moved on since `base_version`."""
        done = self.edit_many([hall], who, lambda _hall, b: change(b), what=what, summary=summary,
                              comment=comment, base_version=base_version)
        return done[hall]

    def edit_many(self, halls: list[str], who: str, change: Callable[[str, biz.Business], biz.Business], *,
                  what: str, summary: Callable[[biz.Business, biz.Business], list[str]], comment: str = "",
                  base_version: int | None = None) -> dict[str, tuple[int | None, list[str]]]:
        """`edit` of several halls at once, all or nothing: every hall's result is validated
        before any is stored; the revisions and audit entries commit in one transaction.
        `base_version` is checked against the first hall (the one whose form was opened)."""
        with self._lock:
            planned: list[tuple[str, biz.Business, biz.Business, list[str]]] = []
            out: dict[str, tuple[int | None, list[str]]] = {}
            for n, hall in enumerate(halls):
                base = self.current(hall)
                if n == 0 and base_version is not None and base_version != base.version:
                    raise EditError(f"配置已被修改（当前版本 {base.version}，您编辑的是版本 {base_version}），"
                                    "请刷新页面后重新修改", 409)
                prefix = f"大厅“{self.entries[hall].name}”：" if len(halls) > 1 else ""
                try:
                    changed = change(hall, base)
                    lines = summary(base, changed)
                    if not lines:
                        out[hall] = (None, [])
                        continue
                    version = self.next_version(hall, base)
                    new = validate(hall, msgspec.structs.replace(changed, version=version))
                    if self.fix_days is not None and new.rules.ratings.followup_days != self.fix_days:
                        raise EditError(f"差评回访期限（{new.rules.ratings.followup_days} 个工作日）须与中心的 "
                                        f"[followups] fix_days（{self.fix_days}）一致")
                except EditError as e:
                    raise EditError(prefix + e.message, e.status) from None
                planned.append((hall, base, new, lines))
            at = self.clock()
            try:
                with self.store.db.atomic():
                    for hall, base, new, lines in planned:
                        text = f"{what}：" + "；".join(lines)
                        detail = (f"大厅 {hall} 配置版本 {base.version} → {new.version}，{text}"
                                  + (f"（说明：{comment}）" if comment else ""))
                        revisions.add(self.store, hall=hall, version=new.version, business=biz.encode(new).decode(),
                                      who=who, at=at, comment=comment[:500], summary=text[:2000])
                        self.store.audit(who, "config_edit", detail, at)
            except revisions.VersionTaken:
                raise EditError("另一处修改同时保存了这个版本，请刷新页面后重试", 409) from None
            for hall, _base, new, lines in planned:
                self._install(hall, new)
                self.publish(hall)
                log.info("%s: hall %s configuration version %d (%s)", who, hall, new.version, "；".join(lines))
                out[hall] = (new.version, lines)
            return out

    def next_version(self, hall: str, base: biz.Business) -> int:
        """The version of the hall's next revision: one above every version known for it. The
        version the hall reports (its status, which a hall credential can forge) counts only
        when plausible (`applied`), and the result is never above `MAX_VERSION` (EditError 409
        then: nothing is stored)."""
        known = max(base.version, self.known(hall))
        applied = self.applied().get(hall, (None, False))[0] or 0
        version = max(known, applied) + 1
        if version > MAX_VERSION:
            raise EditError(f"配置版本号已达上限（{MAX_VERSION}），无法再保存修改", 409)
        return version

    def refresh(self) -> dict[str, wire.ConfigMessage]:
        """Install every stored revision newer than what this process runs (another central
        worker may have made it) and answer the downlink message of every hall. Called by the
        service before it (re)publishes on connect, so a worker never re-publishes a stale
        version over a newer one as the retained message."""
        out = {}
        with self._lock:
            for hid in self.entries:
                self._install_newer(hid, "hall %s: stored configuration version %d replaces %d")
                b = self.entries[hid].business
                out[hid] = wire.ConfigMessage(v=wire.V, hall=hid, version=b.version, business=b, ts=self.clock())
        return out

    def publish(self, hall: str) -> bool:
        """Publish (retained) the hall's current configuration; False without a connected service."""
        if self.service is None:
            return False
        b = self.entries[hall].business
        msg = wire.ConfigMessage(v=wire.V, hall=hall, version=b.version, business=b, ts=self.clock())
        return self.service.publish_config(msg)

    def _install(self, hall: str, b: biz.Business) -> None:
        self.entries[hall].business = b
        if self.directory is not None:
            self.directory.halls[hall] = self.entries[hall]
            self.directory.calendars[hall] = HallCalendar(b.calendar)


def editor_for(app_state, store, directory, service) -> ConfigEditor:
    """The app's editor: the one `onestop-central` made at start (`app.state.config_editor`),
    or one made now over the directory's hall entries."""
    editor = getattr(app_state, "config_editor", None)
    if editor is None:
        with _make_lock:
            editor = getattr(app_state, "config_editor", None)
            if editor is None:
                editor = ConfigEditor(store, directory.halls.values(), service=service, directory=directory)
                app_state.config_editor = editor
    if editor.service is None and service is not None:
        editor.service = service
    if editor.directory is None:
        editor.directory = directory
    return editor


_make_lock = threading.Lock()
