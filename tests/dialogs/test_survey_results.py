"""Survey results: the minimum group size, complementary suppression, comments and trends."""

from __future__ import annotations

from typing import Any

from dialogs.surveys.model import load_templates
from dialogs.surveys.results import NO_UNIT, summarise

TEMPLATES = load_templates()
PULS = TEMPLATES["puls"]
REPORT = TEMPLATES["halvarsrapport"]


def puls(n: int, unit: str = "Sortland skole", trygg: int = 4, text: str = "") -> list[Any]:
    answer: dict[str, Any] = {"trygg": trygg, "anbefale": 8}
    if text:
        answer["hjelpe-mest"] = text
    return [(unit, dict(answer)) for _ in range(n)]


def test_four_answers_show_nothing_but_the_rate_and_five_show_everything() -> None:
    four = summarise(PULS, puls(4), anonymity="anonymous", recipients=10, min_group=5)
    assert four.hidden and four.answered == 4 and four.rate == 0.4
    assert all(q.counts == {} and q.mean is None and q.comments == () for q in four.questions)
    assert all(u.hidden for u in four.units)
    five = summarise(PULS, puls(5, trygg=3), anonymity="anonymous", recipients=10, min_group=5)
    trygg = five.questions[0]
    assert not five.hidden and trygg.counts == {"1": 0, "2": 0, "3": 5, "4": 0, "5": 0}
    assert trygg.mean == 3.0 and five.questions[1].counts["8"] == 5
    assert len(five.questions[1].counts) == 11  # 0–10


def test_a_small_unit_is_hidden_with_the_next_smallest_so_it_cannot_be_computed() -> None:
    answers = puls(6, "A", trygg=5) + puls(8, "B", trygg=4) + puls(2, "C", trygg=1)
    summary = summarise(PULS, answers, anonymity="anonymous", recipients=30, min_group=5)
    shown = {u.unit: u for u in summary.units}
    assert shown["C"].hidden and shown["A"].hidden and not shown["B"].hidden
    assert shown["B"].questions["trygg"].mean == 4.0 and shown["A"].questions == {}
    # The total still counts everyone: total minus B is A and C together, 8 answers, not C alone.
    assert summary.questions[0].counts["1"] == 2 and summary.answered == 16


def test_hidden_units_are_added_until_they_hold_the_minimum_together() -> None:
    answers = puls(2, "A") + puls(2, "B") + puls(3, "C") + puls(9, "D") + puls(12, "E")
    summary = summarise(PULS, answers, anonymity="anonymous", recipients=40, min_group=5)
    hidden = {u.unit for u in summary.units if u.hidden}
    assert hidden == {"A", "B", "C"}  # 2 + 2 + 3 = 7 ≥ 5; D and E are shown
    answers = puls(3, NO_UNIT) + puls(5, "A") + puls(5, "B")
    summary = summarise(PULS, answers, anonymity="anonymous", recipients=40, min_group=5)
    assert {u.unit for u in summary.units if u.hidden} == {NO_UNIT, "A"}
    assert [u.unit for u in summary.units][-1] == NO_UNIT  # "others" last


def test_comments_need_the_minimum_come_in_random_order_and_never_with_personal_data() -> None:
    texts = [f"Mer tid til samarbeid {i}" for i in range(6)] + ["Snakk med Ola Nordmann om dette"]
    answers = [("A", {"trygg": 3, "anbefale": 5, "hjelpe-mest": t}) for t in texts]
    summary = summarise(PULS, answers, anonymity="anonymous", recipients=9, min_group=5, seed=1)
    comments = summary.questions[2].comments
    assert sorted(comments) == sorted(texts[:6])  # the one with a full name is left out
    other = summarise(PULS, answers, anonymity="anonymous", recipients=9, min_group=5, seed=2)
    assert comments != tuple(texts[:6]) or other.questions[2].comments != tuple(texts[:6])
    few = summarise(PULS, answers[:4], anonymity="anonymous", recipients=9, min_group=5)
    assert few.questions[2].comments == ()


def report(unit: str, logs: int, meldinger: int, kinds: list[str]) -> tuple[str, dict[str, Any]]:
    return unit, {
        "aktive-stafettlogger": logs,
        "bekymringsmeldinger": meldinger,
        "type-saker": kinds,
    }


def test_a_halvarsrapport_shows_every_unit_and_its_trend_against_the_last_half_year() -> None:
    spring = [report("Sortland skole", 4, 2, ["atferd"]), report("Lia barnehage", 1, 0, ["sprak"])]
    autumn = [
        report("Sortland skole", 6, 2, ["atferd", "sprak"]),
        report("Lia barnehage", 0, 1, []),
    ]
    first = summarise(REPORT, spring, anonymity="unit", recipients=2, min_group=5)
    second = summarise(REPORT, autumn, anonymity="unit", recipients=3, min_group=5, previous=first)
    assert not second.hidden and all(not u.hidden for u in second.units)
    logs = second.questions[0]
    assert (logs.total, logs.previous, logs.trend) == (6, 5.0, "up")
    meldinger = second.questions[1]
    assert (meldinger.total, meldinger.trend) == (3, "up")
    units = {u.unit: u.questions for u in second.units}
    assert units["Lia barnehage"]["aktive-stafettlogger"].trend == "down"
    assert units["Sortland skole"]["bekymringsmeldinger"].trend == "same"
    kinds = second.questions[6]
    assert kinds.key == "type-saker" and kinds.counts["atferd"] == 1 and kinds.counts["sprak"] == 1
    assert first.questions[0].trend is None  # nothing to compare the first round with
