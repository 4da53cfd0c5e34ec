"""``roles import``, ``contacts import`` and ``arshjul import`` as an operator runs them (in
process, on a real SQLite database): the changes are shown and confirmed before anything is
replaced, and the files Norwegian Excel writes (``;``, Windows-1252, UTF-8 with BOM, tab) are read
with æøå intact."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from bot.cli import run

HEADER = "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
TWO = (
    HEADER
    + "bts-koordinator,,slack,UKOORD,Kari Koordinator,\nvirksomhetsleder,Nord skole,slack,UPER,Per,\n"
)
ONE_ROW = HEADER + "virksomhetsleder,Nord skole,slack,UPER,Per Pettersen,UVARA\n"


class _Terminal(io.StringIO):
    """An operator at a terminal who types the given answer."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def call(*args: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        status = run(list(args))
        out = capsys.readouterr()
        return status, out.out, out.err

    return call


def _roles(cli) -> str:  # type: ignore[no-untyped-def]
    return str(cli("roles", "export")[1])


def test_a_one_row_file_shows_who_goes_and_asks_first(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "two.csv").write_text(TWO, encoding="utf-8")
    assert cli("roles", "import", "two.csv", "--yes")[0] == 0
    (tmp_path / "one.csv").write_text(ONE_ROW, encoding="utf-8")

    status, out, err = cli("roles", "import", "one.csv")  # no terminal, no --yes
    assert status == 2 and "--yes" in err and "ingenting er endret" in err
    assert "Fjernes (1):" in out and "BTS-koordinator: Kari Koordinator (slack UKOORD)" in out
    assert "navn: «Per» → «Per Pettersen»" in out and "stedfortreder: «(tom)» → «UVARA»" in out
    assert "UKOORD" in _roles(cli), "nothing is changed without confirmation"

    status, out, _ = cli("roles", "import", "one.csv", "--dry-run")
    assert status == 0 and "Prøvekjøring" in out and "UKOORD" in _roles(cli)

    status, out, _ = cli("roles", "import", "one.csv", stdin=_Terminal("nei\n"))
    assert status == 1 and "Avbrutt" in out and "UKOORD" in _roles(cli)

    status, out, _ = cli("roles", "import", "one.csv", stdin=_Terminal("j\n"))
    assert status == 0 and "imported 1 role holder(s)" in out
    assert _roles(cli) == ONE_ROW

    status, out, _ = cli("roles", "import", "one.csv")  # the same again: nothing to confirm
    assert status == 0 and "Ingen endringer" in out


@pytest.mark.parametrize(
    ("encoding", "sep"), [("cp1252", ";"), ("utf-8-sig", ";"), ("utf-8-sig", "\t"), ("utf-8", ",")]
)
def test_excel_files_keep_norwegian_letters(cli, tmp_path: Path, encoding: str, sep: str) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ["rolle", "enhet", "plattform", "bruker_id", "navn", "stedfortreder_id"],
        ["virksomhetsleder", "Bø skole", "slack", "U1", "Åse Ærø", ""],
        ["", "", "", "", "", ""],  # Excel's empty row after the data
    ]
    text = "\r\n".join(sep.join(r) for r in rows) + "\r\n"
    (tmp_path / "excel.csv").write_bytes(text.encode(encoding))
    status, out, err = cli("roles", "import", "excel.csv", "--yes")
    assert status == 0, err
    assert "Virksomhetsleder i Bø skole: Åse Ærø (slack U1)" in out
    assert _roles(cli) == HEADER + "virksomhetsleder,Bø skole,slack,U1,Åse Ærø,\n"


def test_header_and_role_problems_say_what_was_seen_and_expected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "h.csv").write_text("rolle;enhet;navn\nx;y;z\n", encoding="utf-8")
    status, _, err = cli("roles", "import", "h.csv", "--yes")
    assert status == 1
    assert "missing column(s) plattform, bruker_id, stedfortreder_id" in err
    assert "separator ';' (semicolon)" in err and "found column(s) rolle, enhet, navn" in err
    assert "expected rolle, enhet, plattform, bruker_id, navn, stedfortreder_id" in err
    (tmp_path / "r.csv").write_text(HEADER + "rektor,,slack,U1,Kari,\n", encoding="utf-8")
    status, _, err = cli("roles", "import", "r.csv", "--yes")
    assert status == 1 and "row 2: unknown role 'rektor' (known: " in err
    assert "bts-koordinator" in err and "virksomhetsleder" in err
    (tmp_path / "c.csv").write_text("enhet\tnavn\nX\tY\n", encoding="utf-8")
    status, _, err = cli("contacts", "import", "c.csv", "--yes")
    assert status == 1 and "separator '\\t' (tab)" in err
    assert "(optional: stedfortreder_id, telefon, epost)" in err


@pytest.mark.parametrize(
    ("command", "columns"),
    [
        ("roles", "rolle, enhet, plattform, bruker_id, navn, stedfortreder_id"),
        ("contacts", "enhet, navn, plattform, bruker_id, stedfortreder_id, telefon, epost"),
        ("arshjul", "key, title, text, roles, recurrence"),
    ],
)
def test_help_of_every_import_lists_its_columns(
    command: str, columns: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run([command, "import", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert columns in out and "--dry-run" in out and "--yes" in out


def test_contacts_and_arshjul_imports_confirm_too(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    contacts = "enhet;navn;plattform;bruker_id;telefon\nNord skole;Kari;slack;U1;12345678\n"
    (tmp_path / "k.csv").write_text(contacts, encoding="utf-8")
    assert cli("contacts", "import", "k.csv", "--yes")[0] == 0
    (tmp_path / "k2.csv").write_text(contacts.replace("12345678", "87654321"), encoding="utf-8")
    status, out, _ = cli("contacts", "import", "k2.csv")
    assert status == 2 and "telefon: «12345678» → «87654321»" in out
    assert "12345678" in cli("contacts", "export")[1]

    status, exported, _ = cli("arshjul", "export")
    first = exported.index("send_time:")
    end = exported.index("\n", first)
    edited = exported[:first] + "send_time: '10:00'" + exported[end:]
    (tmp_path / "a.yaml").write_text(edited, encoding="utf-8")
    status, out, err = cli("arshjul", "import", "a.yaml")
    assert status == 2 and "--yes" in err and "endret: sendetid" in out
    assert cli("arshjul", "export")[1] == exported
    status, out, _ = cli("arshjul", "import", "a.yaml", "--dry-run")
    assert status == 0 and cli("arshjul", "export")[1] == exported
    assert cli("arshjul", "import", "a.yaml", "--yes")[0] == 0
    assert cli("arshjul", "export")[1] == edited
