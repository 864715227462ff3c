"""The project documents itself: it cites no document outside the repository, and every
``docs/design.md#<section>`` it cites exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from codegen.design_doc import anchor
from foundation.paths import REPO_ROOT

DESIGN_DOC = REPO_ROOT / "docs" / "design.md"
#: how a reference to a design document the repository does not hold was written
#: (the word is split so that this file does not match itself)
OUTSIDE = re.compile("|".join([
    r"\b" + "DES" + r"IGN(?:\.md\b|\s*§|\s+section\b|\s+\d|'s\b|\s+defines\b)",
    r"\.\./" + "shared",
    r"/work/" + "shared",
]))
CITATION = re.compile(r"docs/design\.md#([a-z0-9\-]+)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def repository_files() -> list[Path]:
    """Every file git tracks or would track (untracked, not ignored), text files only."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    files = []
    for name in listed:
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def test_no_file_cites_a_document_outside_the_repository() -> None:
    hits = [f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()[:80]}"
            for path in repository_files()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert hits == []


def test_the_check_recognises_the_old_citations() -> None:
    word = "DES" + "IGN"
    for line in (f"Activation funnel ({word} 5) per install week",
                 f"## Metric definitions ({word} §5, as implemented)",
                 f"({word}.md section 5 wording)", "see ../" + "shared/x.md",
                 f"the formula is {word}'s literally", f"{word} defines liability as"):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search(f"{word}_FILE = REPO_ROOT / 'docs' / 'design.md'")


def test_every_cited_section_of_the_design_notes_exists() -> None:
    anchors = {anchor(title) for title in HEADING.findall(DESIGN_DOC.read_text("utf-8"))}
    cited = {(path.relative_to(REPO_ROOT), section) for path in repository_files()
             for section in CITATION.findall(path.read_text(encoding="utf-8"))}
    assert len(cited) > 10
    missing = sorted(f"{path}: #{section}" for path, section in cited
                     if section not in anchors)
    assert missing == []


def test_the_design_notes_define_what_the_dashboards_show() -> None:
    text = DESIGN_DOC.read_text(encoding="utf-8")
    for heading in ("## Business rules", "### Referral program", "### Rewards", "### Expiry",
                    "## Metric definitions", "#### Active users: DAU, WAU, MAU",
                    "#### Activation funnel", "#### Feature adoption", "#### Retention",
                    "#### Referral funnel", "#### Viral coefficient", "#### Viral cycle time",
                    "#### Reward liability", "#### Liability ageing", "#### Expiry outlook",
                    "#### Redemption forecast", "#### School fundraising",
                    "## The run lifecycle", "### Publication", "### Failure",
                    "### The manifest"):
        assert f"\n{heading}\n" in text, heading
