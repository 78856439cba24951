"""The rule index: every regulation article the code cites, the code that cites it, and the
tests that name it (`onestop-sim rules`, written to docs/rules.md).

Articles are cited in docstrings and comments as `[J 26]`, `[C 11(7)]`, `[J 24–25, U 20]`
(the letters of ../shared/RULES.md: J Jilin, U university 001, B Beijing Changping, C Changji,
H Hunan). The index is read from the source, so it is never out of date: a test compares the
committed docs/rules.md with a fresh build.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

PRODUCT = ("edge", "central", "sync", "devices")
SOURCES = {
    "J": "Jilin University (seeds/000)",
    "U": "university text (seeds/001)",
    "B": "Beijing Univ. of Chemical Technology, Changping (seeds/002)",
    "C": "Changji prefecture/city centre (seeds/003)",
    "H": "Hunan University measures (seeds/004)",
}
ORDER = "JUBCH"
# A citation: the bracket holds one or more "X n" parts, comma separated.
_BRACKET = re.compile(r"\[((?:[JUBCH] ?\d+[^\[\]]*?))\]")
_PART = re.compile(r"^([JUBCH]) ?(\d+)(?:\s*[–-]\s*(\d+))?")


@dataclass(frozen=True, order=True)
class Article:
    source: str
    number: int

    def __str__(self) -> str:
        return f"{self.source} {self.number}"

    def key(self) -> tuple[int, int]:
        return ORDER.index(self.source), self.number


def articles_in(text: str) -> list[Article]:
    """Every article a text cites; ranges (`J 24–25`) count each article, `C 11(7)` counts C 11.
    A part without its own letter (`[J 15 (1–2 substitutes)]`, `[U 7–8]`) is read as written."""
    found: list[Article] = []
    for bracket in _BRACKET.findall(text):
        for part in bracket.split(","):
            m = _PART.match(part.strip())
            if not m:
                continue
            source, first, last = m.group(1), int(m.group(2)), m.group(3)
            end = int(last) if last and int(last) >= first and int(last) - first < 20 else first
            found.extend(Article(source, n) for n in range(first, end + 1))
    return list(dict.fromkeys(found))


@dataclass
class Citation:
    where: str  # module:qualified.name
    path: str
    line: int
    rule: str  # the sentence that cites the article


@dataclass
class Entry:
    article: Article
    code: list[Citation] = field(default_factory=list)
    tests: list[Citation] = field(default_factory=list)


def _scopes(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every class and function, outer first."""
    out: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                out.append((first, child.end_lineno or child.lineno, name))
                walk(child, name + ".")

    walk(tree, "")
    return out


def _blocks(source: str) -> list[tuple[int, str]]:
    """(first line, text) of every comment block (consecutive comment lines) and string literal."""
    out: list[tuple[int, str]] = []
    comment: list[str] = []
    first = last = 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            if comment and tok.start[0] == last + 1:
                comment.append(tok.string.lstrip("#").strip())
            else:
                if comment:
                    out.append((first, " ".join(comment)))
                comment, first = [tok.string.lstrip("#").strip()], tok.start[0]
            last = tok.start[0]
        elif tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str):
                out.append((tok.start[0], value))
    if comment:
        out.append((first, " ".join(comment)))
    return out


def citations(path: Path, module: str) -> list[tuple[Article, Citation]]:
    source = path.read_text(encoding="utf-8")
    scopes = _scopes(ast.parse(source, str(path)))
    lines = source.splitlines()
    out: list[tuple[Article, Citation]] = []
    for line, text in _blocks(source):
        if not _BRACKET.search(text):
            continue
        inner = [s for s in scopes if s[0] <= line <= s[1]]
        where = f"{module}:{inner[-1][2]}" if inner else module
        for sentence in re.split(r"(?<=[.;。；])\s+|\n\s*\n", text):
            sentence = re.sub(r"\s+", " ", sentence).strip()
            arts = articles_in(sentence)
            if arts:
                bracket = _BRACKET.search(sentence).group(0)[:6]
                at = next((n for n in range(line, len(lines) + 1) if bracket in lines[n - 1]), line)
                cite = Citation(where=where, path=str(path), line=at, rule=sentence[:240])
                out.extend((a, cite) for a in arts)
    return out


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build(root: Path) -> dict[Article, Entry]:
    index: dict[Article, Entry] = {}
    groups = [(pkg, "code") for pkg in PRODUCT] + [("tests", "tests")]
    for pkg, kind in groups:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root)
            for article, cite in citations(path, _module_name(rel)):
                cite.path = str(rel)
                entry = index.setdefault(article, Entry(article))
                getattr(entry, kind).append(cite)
    return dict(sorted(index.items(), key=lambda kv: kv[0].key()))


def render(index: dict[Article, Entry]) -> str:
    out = [
        "# Rule index",
        "",
        "Generated by `onestop-sim rules` from the article citations in the code (`[J 26]`, "
        "`[C 11(7)]`…); do not edit by hand. A test checks that this file matches the code.",
        "For each article: the rule as the code states it, where it is enforced, and the tests that",
        "name it. Article letters (see ../shared/RULES.md for the digest, ../shared/seeds/ for the",
        "originals):",
        "",
    ]
    out += [f"- `{k}`: {v}" for k, v in SOURCES.items()]
    untested = [str(a) for a, e in index.items() if e.code and not e.tests]
    out += ["", f"{len(index)} articles cited; cited in code but named by no test: "
            + (", ".join(untested) if untested else "none") + ".", ""]
    for article, entry in index.items():
        out.append(f"## {article}")
        out.append("")
        seen: set[tuple[str, str]] = set()
        for c in entry.code:
            if (c.where, c.rule) in seen:
                continue
            seen.add((c.where, c.rule))
            out.append(f"- `{c.where}` ([{c.path}:{c.line}](../{c.path}#L{c.line})): {c.rule}")
        tests = sorted({f"`{t.where}`" for t in entry.tests})
        out.append(f"- tests: {', '.join(tests) if tests else '—'}")
        out.append("")
    return "\n".join(out)


def main(root: Path, out: Path | None, check: bool) -> int:
    text = render(build(root))
    target = out or root / "docs" / "rules.md"
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run `onestop-sim rules`")
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}: {text.count(chr(10) + '## ')} articles")
    return 0
