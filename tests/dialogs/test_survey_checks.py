"""``content check`` for surveys: a task naming an unknown survey is an error, a placeholder link a
warning, both with file:line; the shipped content has neither."""

from __future__ import annotations

import shutil
from pathlib import Path

from dialogs.content import CONTENT_DIR
from dialogs.surveys.checks import check_surveys


def test_the_shipped_content_names_only_real_surveys_and_no_placeholder_links() -> None:
    assert check_surveys(CONTENT_DIR) == ([], [])


def test_unknown_surveys_and_placeholder_links_are_named_with_their_line(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR / "surveys", content / "surveys")
    shutil.copytree(CONTENT_DIR / "arshjul_templates", content / "arshjul_templates")
    path = content / "arshjul_templates" / "hadsel.yaml"
    text = path.read_text(encoding="utf-8").replace("survey: halvarsrapport", "survey: halvaar", 1)
    text = text.replace(
        "    recurrence: {every: yearly, month: 8, day: 25}",
        "    recurrence: {every: yearly, month: 8, day: 25}\n    link: https://example.invalid/x",
        1,
    )
    path.write_text(text, encoding="utf-8")
    errors, warnings = check_surveys(content)
    (error,) = errors
    assert error.startswith(f"{path}:") and "no survey template 'halvaar'" in error
    line = int(error.split(":")[1])
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "survey: halvaar"
    assert warnings == []  # placeholder links: tests/admin/test_content_check_links.py
    broken = content / "surveys" / "puls.yaml"
    broken.write_text("key: puls\n", encoding="utf-8")
    errors, _ = check_surveys(content)
    assert errors and all(e.startswith(str(broken)) for e in errors)
