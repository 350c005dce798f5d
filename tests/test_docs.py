"""The documentation's links resolve, the README stays a short guide, and the project's
metadata files (CITATION.cff, .snakemake-workflow-catalog.yml) say what they must."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", ROOT / "config/README.md", *(ROOT / "docs").glob("*.md")])
README_MAX_LINES = 220
#: [text](target) outside code; images too. Targets with a scheme are not checked.
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans, where links are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of ``path``: lower case, punctuation dropped,
    spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for line in _FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _links(path: Path) -> list[str]:
    return _LINK.findall(_prose(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    """Every relative link names a file of the repository (and an existing heading)."""
    problems = []
    for target in _links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            problems.append(f"{target}: no file {linked}")
        elif ROOT not in linked.parents and linked != ROOT:
            problems.append(f"{target}: outside the repository")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            problems.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not problems, f"{doc.relative_to(ROOT)}: " + "; ".join(problems)


def test_docs_have_links_to_check() -> None:
    """The link pattern finds the README's links (a broken pattern would pass vacuously)."""
    targets = _links(ROOT / "README.md")
    assert "docs/performance.md" in targets
    assert "config/README.md" in targets


def test_readme_is_a_short_guide() -> None:
    """At most README_MAX_LINES lines besides the table of models, one line per model,
    which is written from the specs (tests/test_model_specs.py)."""
    from cogfit.model_table import models_table

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.replace(models_table(), "").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines besides the models"


def test_citation_file() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0"
    assert cff["message"] and cff["title"]
    assert cff["authors"] and all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert cff["version"] == project["version"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))
    assert cff["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_workflow_catalog_file() -> None:
    """The usage the Snakemake workflow catalog reads."""
    usage = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage["mandatory-flags"]) == {"desc", "flags"}
    assert usage["software-stack-deployment"] == {
        "conda": True,
        "apptainer": False,
        "apptainer+conda": False,
    }
    assert usage["report"] is True
    assert (ROOT / "config/README.md").is_file()  # where the catalog reads the configuration
