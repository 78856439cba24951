"""The lines of `onestop-edge doctor` and `onestop-central doctor`: one check per line,
``✔ name: found``, ``✗ name: wrong — fix: what to do`` or ``– name: not checked (why)``, then a
summary; exit code 1 when any check failed, else 0."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAIL", "OK", "SKIP", "Check", "report"]

OK, FAIL, SKIP = "✔", "✗", "–"


@dataclass
class Check:
    name: str
    mark: str  # OK, FAIL or SKIP
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.mark == FAIL

    def line(self) -> str:
        text = f"{self.mark} {self.name}: {self.detail}"
        return f"{text} — fix: {self.fix}" if self.failed and self.fix else text


def report(checks: list[Check], out) -> int:
    """Print every check and the summary to `out`; the exit code."""
    for c in checks:
        print(c.line(), file=out, flush=True)
    failed = sum(c.failed for c in checks)
    print(f"{failed} problem(s) found" if failed else "no problem found", file=out, flush=True)
    return 1 if failed else 0
