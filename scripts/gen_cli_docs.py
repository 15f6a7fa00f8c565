"""Write docs/cli.md from the ``--help`` text of every ``stepfn`` command.

    python scripts/gen_cli_docs.py            # rewrite docs/cli.md
    python scripts/gen_cli_docs.py --check    # exit 1 if docs/cli.md is out of date

The help texts are the single source: a test runs ``--check`` so the page cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stepfn.cli import main as cli

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
# Help is rendered at a fixed width so the page does not depend on the terminal.
WIDTH = 88

INTRO = """\
# The `stepfn` command

Generated from the commands' `--help` by `scripts/gen_cli_docs.py`; do not edit by hand
(`make docs` or `python scripts/gen_cli_docs.py` rewrites it, and a test checks it is
up to date).
"""


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    # make_context applies the command's context_settings (such as -h for help);
    # resilient parsing lets a command with required arguments render its help.
    return command.make_context(
        name,
        [],
        parent=parent,
        resilient_parsing=True,
        terminal_width=WIDTH,
        max_content_width=WIDTH,
    )


def render() -> str:
    """The whole page, as text."""
    root = _context(cli, "stepfn", None)
    sections = [INTRO, "## stepfn\n", "```\n" + cli.get_help(root) + "\n```\n"]
    assert isinstance(cli, click.Group)
    for name in sorted(cli.commands):
        command = cli.commands[name]
        help_text = command.get_help(_context(command, name, root))
        sections.append(f"## stepfn {name}\n")
        sections.append("```\n" + help_text + "\n```\n")
    return "\n".join(sections)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
        if current != text:
            print(f"{DOCS.name} is out of date: run python scripts/gen_cli_docs.py")
            return 1
        return 0
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
