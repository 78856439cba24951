"""The display board's voice without the internet: announcements spoken on the hall node.

The board's browser speaks with `speechSynthesis` when it has a Chinese voice; a Raspberry Pi's
Chromium usually has none (its voices, if any, come from the network). Then the board plays
audio the hall node makes with espeak-ng (`espeak-ng -v cmn`: Mandarin), a Debian package that
works offline. Only the hall's own announcements are spoken: the route (edge.pages.board) takes
a window (and the number it calls) and builds the text here from the committed state, so it
cannot be made to say arbitrary words. Each text is synthesised once and kept (LRU).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .context import Ctx
from .rateprompt import prompt, rate_text, spaced
from .workflow import NotFound, Refused

ENABLED_TEXT = "语音播报已启用"  # said when someone taps 「启用语音播报」 on the board


class VoiceUnavailable(Refused):
    """The hall node cannot speak (espeak-ng missing, failing or too slow): 503."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__("voice-unavailable", message)


def call_text(number: str, window_name: str) -> str:
    """A call announcement, as the `call` events of /api/stream carry it."""
    return f"请 {spaced(number)} 号到 {window_name} 办理"


def announcement(ctx: Ctx, what: str, window_id: str | None, number: str | None) -> str:
    """The text of one of the hall's announcements, from the committed state: ``call`` (window
    W calls `number` now), ``rate`` (W prompts to rate its service of `number`), ``enabled``. Raises
    NotFound when there is no such announcement now."""
    if what == "enabled":
        return ENABLED_TEXT
    w = ctx.store.window(window_id or "")
    cfg = ctx.catalog.windows.get(window_id or "")
    if w is None or cfg is None:
        raise NotFound("unknown-window", f"没有窗口 {window_id}")
    if what == "call":
        t = ctx.store.ticket(w.ticket) if w.ticket else None
        if t is None or t.number != number:
            raise NotFound("not-called", f"{cfg.name} 当前没有叫 {number} 号")
        return call_text(t.number, cfg.name)
    if what == "rate":
        p = prompt(ctx, w.id, w)
        if p is None or p["number"] != number:
            raise NotFound("no-prompt", f"{cfg.name} 当前没有 {number} 号待评价的服务")
        return rate_text(cfg.name, p["number"])
    raise NotFound("unknown-announcement", f"没有这种播报：{what}")


class Voice:
    """espeak-ng as a subprocess, one synthesis at a time, with a cache of the last texts."""

    def __init__(self, command: str = "espeak-ng", voice: str = "cmn", speed: int = 150,
                 timeout: float = 10.0, cache: int = 200) -> None:
        self.command = command
        self.voice = voice
        self.speed = speed
        self.timeout = timeout
        self.size = cache
        self._cache: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.syntheses = 0  # how many times espeak-ng ran (tests: the cache works)

    def wav(self, text: str) -> bytes:
        """`text` spoken, as a WAV file. Raises VoiceUnavailable."""
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
            data = self._synthesise(text)
            self.syntheses += 1
            if self.size:
                self._cache[text] = data
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
            return data

    def _synthesise(self, text: str) -> bytes:
        exe = shutil.which(self.command)
        if exe is None:
            raise VoiceUnavailable(f"大厅主机无法语音播报：未安装 {self.command}（apt-get install espeak-ng）")
        with tempfile.TemporaryDirectory(prefix="onestop-voice-") as tmp:
            out = Path(tmp) / "say.wav"
            # the text on stdin (-b 1: UTF-8), never on the command line; -w: a WAV file with
            # its real length (--stdout writes a streaming header without one)
            cmd = [exe, "-v", self.voice, "-s", str(self.speed), "-b", "1", "-w", str(out)]
            try:
                r = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout,
                                   check=False)
            except subprocess.TimeoutExpired:
                raise VoiceUnavailable(f"语音合成超时（{self.timeout:g} 秒）") from None
            except OSError as e:
                raise VoiceUnavailable(f"无法运行 {self.command}：{e.strerror or e}") from None
            data = out.read_bytes() if out.exists() else b""
        if r.returncode != 0 or not data.startswith(b"RIFF"):
            err = r.stderr.decode("utf-8", "replace").strip()[:200]
            raise VoiceUnavailable(f"语音合成失败：{err or f'{self.command} 退出码 {r.returncode}'}")
        return data


_voices: dict[tuple, Voice] = {}
_voices_lock = threading.Lock()


def voice_for(display) -> Voice:
    """The Voice of a hall's `[display]` configuration (one per configuration, kept for the
    process: its cache outlives a request)."""
    key = (display.voice_command, display.voice, display.voice_speed, display.voice_timeout_seconds,
           display.voice_cache)
    with _voices_lock:
        v = _voices.get(key)
        if v is None:
            v = _voices[key] = Voice(*key)
        return v
