"""Survey templates: the built-in ones load in both languages, a kommune's broken file is reported
with file:line, and every kind of answer is checked the same way on every platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.surveys.model import (
    AnswerError,
    Question,
    SurveyFileError,
    load_templates,
    parse_template,
)

BUILT_IN = {
    "hadsel-ledere", "hadsel-ansatte", "halvarsrapport", "seminar-oppmote", "strand-bts-modell",
    "sirdal-rapportskjema-1", "sirdal-rapportskjema-2", "puls", "bts-nettverk-evaluering",
}  # fmt: skip


def test_the_built_in_templates_are_the_seeds_surveys() -> None:
    templates = load_templates()
    assert set(templates) == BUILT_IN
    assert templates["halvarsrapport"].anonymity == "unit"
    assert templates["puls"].anonymity == "anonymous" and len(templates["puls"].questions) == 3
    for template in templates.values():
        assert template.source, template.key
        for question in template.questions:
            assert question.text.nb != "" and question.text.nn != ""
            if question.kind == "text":
                # A free-text answer must not carry case data: the question says so.
                assert question.help is not None, (template.key, question.key)
                assert "enkeltbarn" in question.help.nb and "enkeltborn" in question.help.nn
    counts = [q for q in templates["halvarsrapport"].questions if q.kind == "number"]
    assert counts and all(q.compare and q.bounds[0] == 0 for q in counts)


def test_a_kommune_template_replaces_a_built_in_one_with_the_same_key(tmp_path: Path) -> None:
    (tmp_path / "puls.yaml").write_text(
        "key: puls\ntitle: {nb: Vår puls, nn: Vår puls}\nintro: {nb: Tre spørsmål., nn: Tre spørsmål.}\n"
        "questions:\n  - key: trygg\n    kind: yesno\n    text: {nb: 'Trygg?', nn: 'Trygg?'}\n",
        encoding="utf-8",
    )
    templates = load_templates([tmp_path])
    assert templates["puls"].title.nb == "Vår puls" and len(templates) == len(BUILT_IN)


def test_a_broken_template_is_reported_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "egen.yaml"
    bad.write_text(
        "key: egen\ntitle: {nb: Egen, nn: Eigen}\nintro: {nb: Hei, nn: Hei}\nquestions:\n"
        "  - key: fornoyd\n    kind: scale\n    text: {nb: 'Fornøyd?', nn: 'Nøgd?'}\n"
        "  - key: valg\n    kind: single\n    text: {nb: Velg, nn: Vel}\n"
        "    options:\n      - {key: a, text: {nb: A, nn: A}}\n"
        "  - key: antall\n    kind: number\n    min: 10\n    max: 2\n    text: {nb: Tall, nn: Tal}\n",
        encoding="utf-8",
    )
    with pytest.raises(SurveyFileError) as error:
        load_templates([tmp_path])
    lines = error.value.errors
    assert any(f"{bad}:5:" in e and "low and high" in e for e in lines)
    assert any(f"{bad}:8:" in e and "2–10 options" in e for e in lines)
    assert any(f"{bad}:13:" in e and "min is above max" in e for e in lines)
    with pytest.raises(SurveyFileError, match=r"<x>:3: YAML syntax error"):
        parse_template("key: x\ntitle: [\n:", "<x>")


def question(kind: str, **extra: object) -> Question:
    data: dict[str, object] = {
        "key": "q",
        "kind": kind,
        "text": {"nb": "Spørsmål", "nn": "Spørsmål"},
    }
    if kind in ("scale", "nps"):
        data |= {"low": {"nb": "Lite", "nn": "Lite"}, "high": {"nb": "Mye", "nn": "Mykje"}}
    if kind in ("single", "multi"):
        data["options"] = [{"key": k, "text": {"nb": k, "nn": k}} for k in ("a", "b", "c")]
    return Question.model_validate(data | extra)


@pytest.mark.parametrize(
    ("kind", "extra", "raw", "expected"),
    [
        ("scale", {}, "4", 4),
        ("scale", {}, "6", "too_big"),
        ("scale", {}, "0", "too_small"),
        ("scale", {}, "fire", "not_a_number"),
        ("nps", {}, "0", 0),
        ("nps", {}, "10", 10),
        ("nps", {}, "11", "too_big"),
        ("yesno", {}, "yes", "yes"),
        ("yesno", {}, "kanskje", "not_offered"),
        ("single", {}, "b", "b"),
        ("single", {}, "z", "not_offered"),
        ("single", {}, ["a", "b"], "not_offered"),
        ("multi", {}, ["c", "a"], ("a", "c")),
        ("multi", {}, "a,b", ("a", "b")),
        ("multi", {}, ["a", "x"], "not_offered"),
        ("number", {"min": 0, "max": 50}, " 12 ", 12),
        ("number", {"min": 0, "max": 50}, "51", "too_big"),
        ("number", {}, "-1", "too_small"),
        ("number", {}, "1e9", "not_a_number"),
        ("number", {}, "9" * 40, "not_a_number"),
        ("text", {"max_length": 5}, "kort", "kort"),
        ("text", {"max_length": 5}, "for lang", "too_long"),
        ("text", {}, "   ", "required"),
        ("text", {"required": False}, "", None),
        ("multi", {"required": False}, [], None),
    ],
)
def test_every_kind_of_answer_is_checked(
    kind: str, extra: dict[str, object], raw: str | list[str], expected: object
) -> None:
    q = question(kind, **extra)
    if isinstance(expected, str) and expected in {
        "too_big", "too_small", "not_a_number", "not_offered", "too_long", "required",
    }:  # fmt: skip
        with pytest.raises(AnswerError) as error:
            q.check(raw)
        assert error.value.reason == expected and error.value.question == "q"
    else:
        assert q.check(raw) == expected


def test_a_whole_answer_set_is_checked_and_unknown_keys_are_ignored() -> None:
    template = load_templates()["puls"]
    answers = {q.key: str(q.bounds[1]) for q in template.questions if q.kind in ("scale", "nps")}
    checked = template.check({**answers, "gammel-nokkel": "x"})
    assert set(checked) == set(answers)
    with pytest.raises(AnswerError):
        template.check({})
