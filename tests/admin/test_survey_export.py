"""Survey exports (CSV and XLSX rows) under the minimum group rules, read back with openpyxl."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from openpyxl import load_workbook

from bot.admin.surveys import HEADER, _result_rows, _write_xlsx
from dialogs.surveys.model import load_templates
from dialogs.surveys.results import summarise

PULS = load_templates()["puls"]


def answers(unit: str, n: int, trygg: int) -> list[tuple[str, dict[str, Any]]]:
    return [(unit, {"trygg": trygg, "anbefale": 7, "hjelpe-mest": "Mer tid"}) for _ in range(n)]


def test_an_export_has_counts_per_question_and_shown_unit_never_single_answers(
    tmp_path: Path,
) -> None:
    rows_in = answers("Sortland skole", 6, 4) + answers("Kvitnes skole", 7, 5)
    rows_in += answers("Lia barnehage", 2, 1)
    summary = summarise(PULS, rows_in, anonymity="anonymous", recipients=20, min_group=5)
    rows = _result_rows(summary)
    assert ["", "trygg", "4", 6, 4.07, None, ""] in rows
    assert ["", "trygg", "1", 2, 4.07, None, ""] in rows
    # Lia (2) is hidden, and Sortland (the next smallest) with it: the total minus the units shown
    # is the two together, never Lia alone.
    assert {r[0] for r in rows} == {"", "Kvitnes skole"}
    path = tmp_path / "puls.xlsx"
    _write_xlsx(path, PULS, SimpleNamespace(anonymity="anonymous"), summary, rows)
    book = load_workbook(path)
    assert book.sheetnames == ["Om", "Resultater"]
    sheet = [list(r) for r in book["Resultater"].iter_rows(values_only=True)]
    assert sheet[0] == list(HEADER) and len(sheet) == len(rows) + 1
    assert not any("Mer tid" in str(c) for r in sheet for c in r)  # comments are not exported


def test_below_the_minimum_an_export_is_the_header_and_a_note(tmp_path: Path) -> None:
    summary = summarise(PULS, answers("A", 4, 3), anonymity="anonymous", recipients=9, min_group=5)
    assert _result_rows(summary) == []
    path = tmp_path / "few.xlsx"
    _write_xlsx(path, PULS, SimpleNamespace(anonymity="anonymous"), summary, [])
    about = {r[0]: r[1] for r in load_workbook(path)["Om"].iter_rows(values_only=True)}
    assert about["Svar"] == 4 and "Færre enn 5" in str(about["Merknad"])
