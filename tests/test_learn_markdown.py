"""Merging learnings into expertise.md: a person's text is never changed or lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_tddgate.errors import UsageError
from pytest_tddgate.learn import update_expertise
from pytest_tddgate.learn.derive import Learning, code
from pytest_tddgate.learn.markdown import merge, render
from tests.branchkit import GitProject
from tests.ledgerkit import Project, outcome

FILE = Path("docs/expertise.md")
STUCK = Learning(
    "stuck:0123456789ab",
    "common_issues",
    "2026-03-01",
    "tests/test_a.py",
    "`tests/test_a.py::test_a` is stuck.",
)
FLAKY = Learning(
    "flaky:0123456789ab",
    "common_issues",
    "2026-03-02",
    "tests/test_b.py",
    "`tests/test_b.py::test_b` is flaky.",
)
GREEN = Learning(
    "green:0123456789ab",
    "patterns_that_work",
    "2026-03-02",
    "tests",
    "`tests` went from red to green.",
)


def owned(text: str) -> list[str]:
    """The lines tddgate may write: entries and the last_updated stamp."""
    return [
        line
        for line in text.splitlines(keepends=True)
        if "<!-- tddgate:" in line or line.startswith("last_updated:")
    ]


def persons(text: str) -> list[str]:
    """Every other line that is not blank (tddgate adds blank lines around new entries)."""
    mine = owned(text)
    return [line for line in text.splitlines(keepends=True) if line not in mine and line.strip()]


def test_a_persons_edits_between_runs_are_kept_byte_for_byte(tmp_path: Path) -> None:
    project = GitProject(tmp_path / "proj")  # one branch: the fix of a stuck test is learned
    for _ in range(3):
        project.record(outcome("tests/test_calc.py::test_add", "failed"))
    update_expertise(project.settings)
    generated = project.expertise.read_text(encoding="utf-8")
    edited = (
        generated.replace(
            "---\n",
            "---\n# reviewed weekly\nowner: qa-team   \n",
            1,
        )
        .replace(
            "## Learnings\n",
            "Some context   with odd  spacing.\t\n\n## Learnings\n",
        )
        .replace(
            "### common_issues\n\n",
            "### common_issues\n\nAsk Ada before touching calc.\n\n",
        )
        .replace(
            "### tips\n",
            "### tips\n\n- our own tip: run `make db` first\n",
        )
        + "\n## Team notes\n\n* keep this\n"
    )
    project.expertise.write_text(edited, encoding="utf-8")

    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(outcome("tests/test_calc.py::test_add", "passed"))
    result = update_expertise(project.settings)

    text = project.expertise.read_text(encoding="utf-8")
    assert (result.written, result.added, result.updated) == (True, 2, 1)
    assert persons(text) == persons(edited)
    for block in (
        "# reviewed weekly\nowner: qa-team   \n",
        "Some context   with odd  spacing.\t\n",
        "### common_issues\n\nAsk Ada before touching calc.\n\n",
    ):
        assert block in text
    assert text.count("<!-- tddgate:stuck:") == 1
    assert "# reviewed weekly\nowner: qa-team   \nlast_updated: 2026-03-04\n" in text
    assert yaml.safe_load(text.split("---\n")[1])["owner"] == "qa-team"
    tips = text.split("### tips\n")[1].split("\n## Team notes")[0]
    assert tips.startswith("\n- our own tip: run `make db` first\n- 2026-03-04 ")  # appended
    assert text.endswith("\n## Team notes\n\n* keep this\n")


def test_entries_are_updated_where_a_person_moved_them() -> None:
    first = merge(None, [STUCK], "2026-03-01", FILE).text
    assert first is not None
    line = render(STUCK) + "\n"
    moved = first.replace(line, "") + "\n## Archive\n\n" + line + "A note under it.\n"

    changed = Learning(STUCK.key, STUCK.section, "2026-03-05", STUCK.component, "Fixed now.")
    merged = merge(moved, [changed], "2026-03-05", FILE)

    assert merged.text == moved.replace(line, render(changed) + "\n").replace(
        "last_updated: 2026-03-01", "last_updated: 2026-03-05"
    )
    assert (merged.added, merged.updated) == (0, 1)


def test_nothing_new_means_no_new_text() -> None:
    first = merge(None, [STUCK, GREEN], "2026-03-01", FILE).text
    assert merge(first, [STUCK, GREEN], "2026-03-09", FILE).text is None
    assert merge(None, [], "2026-03-09", FILE).text is None  # no file for nothing


def test_new_entries_join_their_section_after_the_existing_ones() -> None:
    first = merge(None, [STUCK], "2026-03-01", FILE).text
    assert first is not None

    text = merge(first, [STUCK, FLAKY, GREEN], "2026-03-02", FILE).text

    assert text is not None
    issues = text.split("### common_issues\n")[1].split("###")[0]
    assert issues == f"\n{render(STUCK)}\n{render(FLAKY)}\n\n"
    works = text.split("### patterns_that_work\n")[1].split("###")[0]
    assert works == f"\n{render(GREEN)}\n\n"


def test_a_file_a_person_started_gets_front_matter_and_sections_added(tmp_path: Path) -> None:
    mine = "# What we know\n\nNo heading levels were harmed.\n"

    text = merge(mine, [FLAKY], "2026-03-02", FILE).text

    assert text is not None
    assert text.startswith("---\nlast_updated: 2026-03-02\n---\n\n" + mine + "\n## Learnings\n")
    assert persons(text)[2:4] == [line for line in mine.splitlines(keepends=True) if line.strip()]


def test_crlf_files_stay_crlf() -> None:
    mine = "---\r\nlast_updated: 2026-01-01\r\n---\r\n\r\n## Learnings\r\n\r\n### tips\r\n"

    text = merge(mine, [FLAKY], "2026-03-02", FILE).text

    assert text is not None
    assert "\n" not in text.replace("\r\n", "")
    assert text.startswith("---\r\nlast_updated: 2026-03-02\r\n---\r\n\r\n## Learnings\r\n")
    assert f"### common_issues\r\n\r\n{render(FLAKY)}\r\n" in text


def test_an_entry_quoted_in_a_code_fence_is_a_persons_text() -> None:
    quoted = f"```markdown\n{render(STUCK)}\n```\n"
    mine = f"## Learnings\n\nExample of an entry:\n\n{quoted}"

    text = merge(mine, [STUCK], "2026-03-01", FILE).text

    assert text is not None
    assert quoted in text
    assert text.count(render(STUCK)) == 2  # the quote, and the real entry in its section


def test_front_matter_that_is_not_yaml_is_reported_and_the_file_kept(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj")
    for _ in range(3):
        project.record(outcome("tests/test_calc.py::test_add", "failed"))
    broken = "---\ntitle: [unclosed\nlast_updated: 2026-01-01\n---\n\nMine.\n"
    project.write("docs/expertise.md", broken)

    with pytest.raises(UsageError) as caught:
        update_expertise(project.settings)

    assert caught.value.file == str(project.expertise)
    assert caught.value.line is not None and caught.value.line >= 2
    assert "front matter is not valid YAML" in caught.value.render()
    assert project.expertise.read_text(encoding="utf-8") == broken


def test_a_file_that_is_not_utf8_is_reported_and_kept(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj")
    for _ in range(3):
        project.record(outcome("tests/test_calc.py::test_add", "failed"))
    project.expertise.parent.mkdir(parents=True)
    project.expertise.write_bytes(b"caf\xe9 notes\n")

    with pytest.raises(UsageError, match="not UTF-8"):
        update_expertise(project.settings)
    assert project.expertise.read_bytes() == b"caf\xe9 notes\n"


def test_messages_cannot_break_the_line_or_its_marker() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    odd = Learning(
        "stuck:0123456789ab",
        "tips",
        "2026-03-01",
        "t.py",
        code("line one\nline two --> <!-- tddgate:flaky:ffffffffffff -->"),
    )

    text = merge(None, [odd], "2026-03-01", FILE).text

    assert text is not None
    (line,) = [line for line in text.splitlines() if "tddgate:stuck:" in line]
    assert "line one line two -> <!- tddgate:flaky:ffffffffffff ->" in line
    assert line.count("<!-- tddgate:") == 1


def test_a_note_between_entries_stays_between_them() -> None:
    first = merge(None, [STUCK, FLAKY], "2026-03-02", FILE).text
    assert first is not None
    note = "  Ada: the stuck one needs the staging database.\n"
    mine = first.replace(render(STUCK) + "\n", render(STUCK) + "\n" + note)
    newer = Learning(FLAKY.key, FLAKY.section, "2026-03-06", FLAKY.component, "Still flaky.")
    added = Learning("flaky:ba9876543210", "common_issues", "2026-03-06", "t.py", "New one.")

    text = merge(mine, [STUCK, newer, added], "2026-03-06", FILE).text

    assert text is not None
    issues = text.split("### common_issues\n")[1].split("###")[0]
    assert issues == f"\n{render(STUCK)}\n{note}{render(newer)}\n{render(added)}\n\n"


def test_violation_stories_of_earlier_versions_are_removed_and_notes_kept() -> None:
    story = (
        "- 2026-03-01 · `src/a.py` · roles violation `role-unknown`: uncommitted changes "
        "(first seen 2026-03-01, run #7); resolved in run #8 (2026-03-01). "
        "<!-- tddgate:violation:6169cc945469 -->\n"
    )
    quoted = "Our note on <!-- tddgate:violation:5fad96751f37 --> stays.\n"
    old = (
        "---\nlast_updated: 2026-03-01\n---\n\n## Learnings\n\n### patterns_that_work\n\n"
        f"### patterns_to_avoid\n\n{story}Ada: this one was a branch switch.\n{quoted}\n"
        "### common_issues\n\n### tips\n"
    )
    rule = Learning("rule:0123456789ab", "patterns_to_avoid", "2026-03-02", "backend", "A rule.")

    merged = merge(old, [rule], "2026-03-02", FILE)

    assert merged.text is not None and merged.removed == 1
    assert "violation:6169cc945469" not in merged.text
    assert persons(merged.text) == persons(old)  # the note after it and the quote stay
    assert render(rule) in merged.text
    assert merge(merged.text, [rule], "2026-03-02", FILE).text is None  # then stable
