"""The rule index (docs/rules.md) is built from the article citations in the code.

Citations in this file are assembled from pieces so that the index does not count them.
"""

from pathlib import Path

from simulators import ruleindex
from simulators.ruleindex import Article

ROOT = Path(__file__).resolve().parents[2]


def cite(*parts: str) -> str:
    return "[" + ", ".join(parts) + "]"


def test_ruleindex_committed_docs_match_the_code(capsys):
    assert ruleindex.main(ROOT, None, check=True) == 0, capsys.readouterr().out


def test_ruleindex_reads_ranges_subclauses_and_lists():
    text = "Outcomes " + cite("J 24–25", "U 20", "C 11(7)") + " and " + cite("J 15 (1–2 substitutes)")
    assert ruleindex.articles_in(text) == [
        Article("J", 24), Article("J", 25), Article("U", 20), Article("C", 11), Article("J", 15)]
    assert ruleindex.articles_in("a list [1, 2] and a [link](x) cite nothing") == []


def test_ruleindex_links_rule_code_and_tests(tmp_path):
    (tmp_path / "edge").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "edge" / "queue.py").write_text(
        "class Queue:\n"
        "    def take(self):\n"
        f'        """Numbers are called in order {cite("J 22")}. Other text."""\n'
        "\n"
        f"# Transfers keep the place {cite('J 19')}\n"
        "X = 1\n", encoding="utf-8")
    (tmp_path / "tests" / "test_queue.py").write_text(
        "def test_queue_calls_in_order():\n"
        f'    """{cite("J 22")}"""\n', encoding="utf-8")
    index = ruleindex.build(tmp_path)
    assert list(index) == [Article("J", 19), Article("J", 22)]
    j22 = index[Article("J", 22)]
    assert [(c.where, c.line, c.rule) for c in j22.code] == [
        ("edge.queue:Queue.take", 3, "Numbers are called in order " + cite("J 22") + ".")]
    assert [t.where for t in j22.tests] == ["tests.test_queue:test_queue_calls_in_order"]
    text = ruleindex.render(index)
    assert "## J 19" in text and "cited in code but named by no test: J 19." in text
    assert "[edge/queue.py:3](../edge/queue.py#L3)" in text
