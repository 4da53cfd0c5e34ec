"""``bts-bot content check`` for surveys: the survey templates of a content folder (and a kommune
folder) and årshjul tasks that name a survey that does not exist, each as ``file:line: message``
(placeholder links in any content file are ``dialogs.placeholder_links``)."""

from __future__ import annotations

from pathlib import Path

from dialogs.surveys.model import SurveyFileError, load_templates
from dialogs.yaml_source import ContentFileError, read_yaml


def check_surveys(
    content_dir: Path, kommune_dir: Path | None = None
) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` for the survey templates and the årshjul templates' survey links."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        known = set(
            load_templates(
                [kommune_dir / "surveys" if kommune_dir else None], builtin=content_dir / "surveys"
            )
        )
    except SurveyFileError as exc:
        return exc.errors, warnings
    for path in sorted((content_dir / "arshjul_templates").glob("*.yaml")):
        try:
            source = read_yaml(path)
        except ContentFileError as exc:
            errors += exc.errors
            continue
        tasks = source.data.get("tasks") if isinstance(source.data, dict) else None
        for index, task in enumerate(tasks if isinstance(tasks, list) else []):
            if not isinstance(task, dict):
                continue
            survey = task.get("survey")
            if survey is not None and survey not in known:
                line = source.line_of(("tasks", index, "survey"))
                errors.append(f"{path}:{line}: tasks.{index}.survey: no survey template {survey!r}")
    return errors, warnings
