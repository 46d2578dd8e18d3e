"""Every document can be found (issue 23): docs/README.md links each file in docs/ and the
other READMEs, every link there resolves, the README links the index and every doc, and its
command table names every command the CLI has."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from daemon.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def links(path: Path) -> set[Path]:
    return {(path.parent / target).resolve() for target in LINK.findall(path.read_text())}


def documents() -> set[Path]:
    return {doc.resolve() for doc in DOCS.glob("*.md") if doc.name != "README.md"}


def test_the_docs_index_links_every_document_and_every_link_resolves() -> None:
    index = links(DOCS / "README.md")
    expected = documents() | {
        (REPO / "sandbox" / "README.md").resolve(),
        (REPO / "config" / "eventbridge" / "README.md").resolve(),
    }
    assert sorted(map(str, expected - index)) == []
    assert sorted(str(p) for p in index if not p.exists()) == []


def test_the_readme_links_the_index_and_every_document() -> None:
    readme = links(REPO / "README.md")
    assert (DOCS / "README.md").resolve() in readme
    assert sorted(str(doc.relative_to(REPO)) for doc in documents() - readme) == []
    assert sorted(str(p) for p in readme if not p.exists()) == []


def subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Leaf commands, `sandbox serve` style."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += subcommands(sub, f"{prefix}{name} ") or [f"{prefix}{name}"]
    return found


def test_the_readme_command_table_lists_every_command() -> None:
    text = (REPO / "README.md").read_text()
    table = text[text.index("## Commands") :].split("\n\n", 2)[1]
    rows = {row.split("`")[1] for row in table.splitlines() if row.startswith("| `")}
    # The command is the row's leading lower-case words: `sandbox serve [--demo ...]`.
    listed = {re.match(r"[a-z][a-z -]*?(?= [^a-z]|$)", row + " ") for row in rows}
    listed_names = {m.group(0).strip() for m in listed if m}
    commands = subcommands(build_parser())
    assert "report" in commands and "sandbox env" in commands
    assert sorted(set(commands) - listed_names) == []
