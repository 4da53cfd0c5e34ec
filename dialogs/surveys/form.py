"""A survey template as a form of the message model, in one language: every platform renders it
(Block Kit, Adaptive Card, web chat), so the survey needs no platform code of its own.

Scale and 0–10 questions become choices whose end options carry the end labels ("1 – I svært liten
grad"); single choice a choice field, several choices a ``multi`` field, counts a number input
within the question's bounds, free text a text input with the question's help as placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.content import Content
from dialogs.messages import FieldKind, Form, FormField, Option
from dialogs.surveys.model import SCALE_RANGE, Question, SurveyTemplate

_KINDS: dict[str, FieldKind] = {
    "scale": "scale",
    "nps": "scale",
    "yesno": "yesno",
    "single": "choice",
    "multi": "multi",
    "number": "number",
    "text": "text",
}


def _options(question: Question, content: Content, lang: str) -> tuple[Option, ...]:
    if question.kind in SCALE_RANGE:
        low, high = question.bounds
        ends = {low: question.low, high: question.high}
        options = []
        for n in range(low, high + 1):
            end = ends.get(n)
            label = str(n)
            if end is not None:
                label = content.text(lang, "surveys.form.scale_end", n=str(n), label=end.get(lang))
            options.append(Option(label, str(n)))
        return tuple(options)
    return tuple(Option(o.text.get(lang), o.key) for o in question.options)


def question_field(question: Question, content: Content, lang: str) -> FormField:
    label = question.text.get(lang)
    help_text = question.help.get(lang) if question.help else ""
    in_placeholder = question.kind in ("text", "number")
    if help_text and not in_placeholder:
        label = f"{label} ({help_text})"
    minimum = maximum = None
    if question.kind in SCALE_RANGE or question.kind == "number":
        minimum, maximum = question.bounds
    return FormField(
        name=question.key,
        label=label,
        kind=_KINDS[question.kind],
        options=_options(question, content, lang),
        minimum=minimum,
        maximum=maximum,
        required=question.required,
        placeholder=help_text if in_placeholder else "",
        max_length=question.max_length,
    )


def survey_form(
    template: SurveyTemplate,
    content: Content,
    lang: str,
    action: str,
    run_id: str,
    *,
    values: Mapping[str, str] | None = None,
) -> Form:
    """The whole survey as one form (in its own window where the client has one); its submit
    sends ``action`` with the run id as value. Shown again after a misfit with the ``values``
    the person had given, so nothing they typed is lost."""
    keys = {q.key for q in template.questions}
    return Form(
        action=action,
        fields=tuple(question_field(q, content, lang) for q in template.questions),
        submit_label=content.text(lang, "surveys.labels.submit"),
        title=template.title.get(lang),
        value=run_id,
        modal=True,
        values=tuple((k, v) for k, v in (values or {}).items() if k in keys and v),
    )
