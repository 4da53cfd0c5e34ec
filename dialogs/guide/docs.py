"""The guide as documentation: a Mermaid flowchart and the text of ``docs/guide.md``.

``python -m dialogs.guide.docs [DIR] > docs/guide.md`` checks a content folder and prints the page;
``tests/dialogs/test_guide.py`` fails when the committed page is out of date. This module only reads
the guide: it writes nothing itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dialogs.content import CONTENT_DIR
from dialogs.guide.model import ACUTE, START, Guide, GuideSet, check_content_dir, load_guides


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", " ") + '"'


def mermaid(guide: Guide) -> str:
    """A Mermaid flowchart of the guide: levels, steps, decision options, endings, acute path."""
    out = ["flowchart TD"]
    out.append(f"    {START}{{{{{_label(guide.start.title)}}}}}")
    out.append(f"    {ACUTE}[/{_label(guide.acute.title)}/]")
    for level_id, level in guide.levels.items():
        out.append(f"    subgraph {level_id} [{_label(level.title)}]")
        out.append("        direction TB")
        for step_id, step in level.steps.items():
            shape = "{{{}}}" if step.is_decision else "[{}]"
            out.append(f"        {step_id}{shape.format(_label(step.title))}")
        out.append("    end")
    for name, ending in guide.endings.items():
        out.append(f"    {name}([{_label(ending.title)}])")
    for choice in guide.start.options:
        out.append(f"    {START} -->|{_label(choice.label)}| {guide.resolve(choice.target)}")
    for _level_id, step_id, step in guide.iter_steps():
        if step.is_decision:
            for choice in step.options:
                node = guide.resolve(choice.target)
                out.append(f"    {step_id} -->|{_label(choice.label)}| {node}")
        else:
            following = guide.following(step_id)
            if following:
                out.append(f"    {step_id} --> {following}")
    for level_id in guide.levels:
        out.append(f"    {level_id} -.->|{_label(guide.ui.acute)}| {ACUTE}")
    return "\n".join(out) + "\n"


def guide_doc(guides: GuideSet) -> str:
    """The text of ``docs/guide.md``, generated from the bokmål guide."""
    guide = guides.get("nb")
    lines = [
        "# The guide (veileder ved uro)",
        "",
        "Generated from `dialogs/content/nb/guide.yaml` by `python -m dialogs.guide.docs` —",
        "do not edit by hand; `tests/dialogs/test_guide.py` fails when this file is out of date.",
        "",
        f"Content version: **{guide.version}**. Every step also offers *{guide.ui.acute}*,",
        "which opens the acute path in one tap (dotted arrows).",
        "",
        "```mermaid",
        mermaid(guide).rstrip("\n"),
        "```",
        "",
        "## Change log",
        "",
    ]
    for entry in guide.changelog:
        lines.append(f"- **{entry.version}** ({entry.date})")
        lines.extend(f"  - {change}" for change in entry.changes)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m dialogs.guide.docs [DIR]``: check a content folder and print docs/guide.md."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else CONTENT_DIR
    errors = check_content_dir(folder)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    print(guide_doc(load_guides(folder)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
