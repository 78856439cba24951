"""A scripted hall day on the simulated clock, through the real device paths.

One hall (config/halls/north-student.toml, with its `[devices]`)
runs in process on a manual clock, with its devices simulated: badge frames are written into
the readers' ptys (read by pyserial), buttons are pressed and lamps read on MockFactory pins,
and the hall's `tick` runs as the clock moves. The script:

- the day before, 刘婷 (A at w02) asks for personal leave and the window head approves it;
- staff clock in at the hall reader, two of them late; a corrupt frame and an unknown card;
- 王建华 signs on at w01 with his badge, 马晓东 (B) covers w02, 赵明 works w03;
- visitors are served; the rating buttons give 非常满意, 满意 and one 不满意 (a follow-up);
- a short step-away (button, 5 min) and a long one (22 min: a violation, the lamp blinks);
- clock-out (one early), signing off, and at closing the side door is left open: the check
  alarms until the door is closed.

`run_hallday()` returns a summary dict; `main()` prints it (to wire as ``onestop-sim hallday``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CARDS = {
    "20050217": "AAC9B06C49",  # 王建华 w01 A, head
    "20150633": "8FF069301D",  # 刘婷 w02 A (on leave)
    "20180912": "C2EC0FEB75",  # 马晓东 B for w01/w02
    "20120408": "61C04148D9",  # 赵明 w03 A
    "20190715": "013D15560E",  # 冯雪 B for w03
}


def hall_file(dest: Path, config_dir: Path | None = None) -> Path:
    """north-student (with its devices), written to `dest` (includes made absolute)."""
    config = Path(config_dir or REPO / "config")
    text = (config / "halls" / "north-student.toml").read_text(encoding="utf-8")
    text = text.replace('"../centre/', f'"{(config / "centre").as_posix()}/')
    dest.write_text(text, encoding="utf-8")
    return dest


def first_open_monday(cal, start: date) -> date:
    d = start
    while not (d.isoweekday() == 1 and cal.is_open_day(d) and cal.is_open_day(d + timedelta(days=1))
               and cal.is_open_day(d - timedelta(days=3))):
        d += timedelta(days=1)
    return d


def run_hallday(day: date | None = None, data_dir: Path | None = None, verbose: bool = False) -> dict:
    from edge import attendance, cases, closing, presence, queue, ratings, views
    from edge.config import load
    from edge.hall import Hall
    from edge.hardware import Hardware
    from simulators.badge import BadgeSimulator
    from simulators.gpio import GpioSimulator, HardwareDriver
    from sync.kernel.calendar import HallCalendar
    from sync.kernel.clock import ManualClock

    work = Path(data_dir or tempfile.mkdtemp(prefix="onestop-hallday-"))
    work.mkdir(parents=True, exist_ok=True)
    cfg = load(hall_file(work / "north-student.toml"))
    cal = HallCalendar(cfg.business.calendar)
    day = day or first_open_monday(cal, date(2026, 11, 2))
    tz = cal.tz
    clock = ManualClock(datetime.combine(day - timedelta(days=3), datetime.min.time(), tzinfo=tz).replace(hour=15))
    hall = Hall(cfg, work / "data", clock)
    hall.start()
    hw = Hardware(hall, cfg.devices, simulate=True)
    log: list[str] = []
    lamp_log: list[tuple[str, str, str]] = []

    def say(text: str) -> None:
        line = f"{cal.local(clock.now()):%m-%d %H:%M} {text}"
        log.append(line)
        if verbose:
            print(line, flush=True)

    def goto(h: int, m: int = 0) -> None:
        target = datetime.combine(day, datetime.min.time(), tzinfo=tz).replace(hour=h, minute=m)
        delta = (target - clock.now()).total_seconds()
        if delta > 0:
            clock.advance(seconds=delta)  # monotonic time moves too (debounce, held cards)
        hw.tick()

    def frames_then(reader: str, n: int) -> None:
        deadline = time.monotonic() + 5
        while hw.readers[reader].frames + hw.readers[reader].rejected < n and time.monotonic() < deadline:
            time.sleep(0.002)
        hw.drain()

    def badge(reader: str, staff: str, variant: str = "normal") -> dict:
        sim = sims[reader]
        before = hw.readers[reader].frames + hw.readers[reader].rejected
        sim.present(CARDS.get(staff, staff), variant)
        frames_then(reader, before + 1)
        if variant == "corrupt":
            say(f"[{reader}] 坏帧（校验错误）已丢弃，读卡器继续工作")
            return {}
        shown = hw.last_read.get(reader, {})
        say(f"[{reader}] {shown.get('message', '')}")
        return shown

    try:
        hw.start()
        hw.on_lamp = lambda w, mode: lamp_log.append((f"{cal.local(clock.now()):%H:%M}", w, mode))
        hw.wait_ready()
        sims = {name: BadgeSimulator(port, cfg.devices.readers[i].protocol)
                for i, (name, port) in enumerate(hw.sim_ports.items())}
        gpio = GpioSimulator(HardwareDriver(hw), advance=lambda s: clock.advance(seconds=s))

        # the working day before: leave requested and approved (A tells the office a day ahead)
        lv = hall.call(attendance.request_leave, "20150633", "personal", day, day, "am", "pm", "家中有事", False)
        hall.call(attendance.approve_leave, lv.id, "20050217")
        say("刘婷 请事假一天，窗口负责人王建华批准；马晓东（B岗）顶岗2号窗口")

        # morning: doors open, lights on, staff arrive
        goto(7, 40)
        for name in ("door-main", "door-side"):
            gpio.door(name, closed=False)
        for name in ("power-lights", "power-ac", "power-computers", "power-printers"):
            gpio.power(name, on=True)
        goto(7, 50)
        badge("hall-reader", "20050217")
        goto(7, 56)
        badge("hall-reader", "20120408", "clone")
        goto(7, 57)
        badge("hall-reader", "20120408", "corrupt")
        badge("hall-reader", "1234ABCDEF")  # a visitor's card at the staff reader
        goto(8, 7)
        badge("hall-reader", "20180912")  # late
        goto(8, 21)
        badge("hall-reader", "20190715", "crlf")  # late
        goto(8, 0)
        goto(8, 22)
        badge("w01-reader", "20050217")  # signs on at w01 with the badge
        hall.call(presence.sign_on, "w02", "20180912")
        hall.call(presence.sign_on, "w03", "20120408")
        say("马晓东 在2号窗口签到（B岗）；赵明 在3号窗口签到")

        # visitors at w01, each rated at the buttons
        item = next(i.id for i in cfg.business.catalog.items
                    if i.department == "academic" and i.mode == "instant")
        served = []
        for k, (level, minute) in enumerate(((5, 30), (4, 45), (2, 58))):
            goto(8, minute)
            hall.call(queue.issue, item)
            t = hall.call(queue.call_next, "w01", "20050217")
            clock.advance(minutes=6)
            hall.call(cases.complete, "w01", "20050217", "instant")
            clock.advance(seconds=20)
            gpio.rate("w01", level)
            served.append(t.number)
            say(f"{t.number} 在1号窗口办结，评价 {level}")
        gpio.rate("w01", 1)  # a second press for the same service: ignored (一次一评)

        # a short step-away at w01 (the pause button), a long one at w03
        goto(9, 30)
        gpio.pause_button("w01")
        say(f"1号窗口 暂停服务，灯 {gpio.lamps()['w01']}")
        goto(9, 35)
        gpio.pause_button("w01")
        say(f"1号窗口 恢复服务，灯 {gpio.lamps()['w01']}")
        goto(10, 0)
        gpio.pause_button("w03")
        goto(10, 16)
        say(f"3号窗口 离岗超过15分钟，灯 {gpio.lamps()['w03']}")
        goto(10, 22)
        gpio.pause_button("w03")
        say(f"3号窗口 恢复服务（离岗22分钟），灯 {gpio.lamps()['w03']}")

        # afternoon: clock-out, one early; sign off
        goto(16, 10)
        badge("hall-reader", "20190715")  # early
        goto(16, 31)
        hall.call(presence.sign_off, "w02", "20180912")
        hall.call(presence.sign_off, "w03", "20120408")
        for s in ("20120408", "20180912"):
            badge("hall-reader", s)
            clock.advance(seconds=30)
        goto(16, 38)
        badge("w01-reader", "20050217")  # pause…
        clock.advance(seconds=4)
        badge("w01-reader", "20050217")  # …second tap: signed off
        badge("hall-reader", "20050217")

        # closing: the side door is left open
        gpio.door("door-main", closed=True)
        for name in ("power-lights", "power-ac", "power-computers", "power-printers"):
            gpio.power(name, on=False)
        for m in (45, 50, 55):
            goto(16, m)
        goto(17, 8)
        say(f"闭厅检查：{hall.call(closing.state)['status_label']}")
        goto(17, 13)
        goto(17, 18)
        gpio.door("door-side", closed=True)
        goto(17, 20)
        closing_state = hall.call(closing.state)
        say(f"侧门关闭，闭厅检查：{closing_state['status_label']}")

        report = hall.call(attendance.day_report, day)
        summary_ratings = hall.call(ratings.summary, day.isoformat(), day.isoformat())
        followups = hall.call(lambda ctx: [ratings.followup_brief(ctx, f) for f in ctx.store.followups()])
        counts: dict[str, int] = {}
        for e in hall.store.events(0, 10_000):
            counts[e.kind] = counts.get(e.kind, 0) + 1

        return {
            "day": day.isoformat(),
            "log": log,
            "attendance": {p["name"]: p["status_label"] for p in report["staff"]
                           if p["staff"] in CARDS},
            "coverage": {w["window"]: w["coverage"] for w in report["windows"] if w["window"] in ("w01", "w02", "w03")},
            "b_expected": [w["window"] for w in report["windows"] if w["b_expected"]],
            "step_aways": hall.call(views.step_aways, day),
            "ratings": summary_ratings,
            "followups": followups,
            "closing": closing_state,
            "lamps": lamp_log,
            "events": counts,
            "served": served,
        }
    finally:
        hw.stop()
        hall.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="onestop-sim hallday",
                                description="Run a scripted hall day on a simulated clock with simulated devices.")
    p.add_argument("--day", type=date.fromisoformat, help="the day (default: the first suitable Monday of Nov 2026)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    result = run_hallday(args.day, verbose=not args.json)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(f"\n考勤：{result['attendance']}")
        print(f"窗口覆盖率：{result['coverage']}（B岗顶岗：{result['b_expected']}）")
        print(f"评价：{result['ratings']['levels']}，差评回访 {len(result['followups'])} 件")
        print(f"闭厅检查：{result['closing']['status_label']}，报警 {result['closing']['alarms']} 次")
        print(f"事件：{result['events']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
