"""``bts-bot content check`` warns about placeholder links (example.invalid, example.com,
example.org, localhost, TODO) in content files and kommune files, with file:line; a warning, so
the exit code stays 0 and "content is valid" is still printed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dialogs.content import CONTENT_DIR
from dialogs.placeholder_links import check_placeholder_links, placeholders_in
from tests.support.server import clean_env


def test_the_shipped_content_and_kommune_files_have_no_placeholder_links() -> None:
    assert check_placeholder_links(CONTENT_DIR, Path(__file__).parents[2] / "kommuner") == []


def test_which_links_are_placeholders() -> None:
    assert placeholders_in("Se https://example.invalid/plan.") == ["https://example.invalid/plan."]
    assert placeholders_in("https://intranett.example.com/bts") == [
        "https://intranett.example.com/bts"
    ]
    assert placeholders_in("http://localhost:3978/x") == ["http://localhost:3978/x"]
    assert placeholders_in("https://www.example.org") == ["https://www.example.org"]
    assert placeholders_in("https://strand.kommune.no/TODO") == ["https://strand.kommune.no/TODO"]
    assert placeholders_in("TODO", "handlingsveileder_url") == ["TODO"]
    assert placeholders_in("https://www.strand.kommune.no/bts") == []
    assert placeholders_in("https://exampleskole.no") == []
    assert placeholders_in("Husk TODO-lista", "text") == []  # only links are looked at


def test_content_check_warns_with_file_and_line_and_exits_0(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    template = content / "arshjul_templates" / "strand.yaml"
    text = template.read_text(encoding="utf-8").replace(
        "    recurrence: {every: yearly, month: 3, day: 25}",
        "    recurrence: {every: yearly, month: 3, day: 25}\n    link: https://example.com/seminar",
        1,
    )
    template.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    link: https://example.com/seminar") + 1
    kommuner = tmp_path / "kommuner"
    kommuner.mkdir()
    (kommuner / "local.yaml").write_text(
        "kommune: Strand kommune\nhandlingsveileder_url: http://localhost/veileder\n",
        encoding="utf-8",
    )
    (kommuner / "example.yaml").write_text(
        "kommune: X\nhandlingsveileder_url: https://example.org/x\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "content",
            "check",
            str(content),
            "--kommuner",
            str(kommuner),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=clean_env(tmp_path / "data"),
    )
    assert result.returncode == 0, result.stderr
    assert "content is valid" in result.stdout
    warnings = [w for w in result.stderr.splitlines() if "placeholder link" in w]
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith(f"warning: {template}:{line}: tasks.2.link:")
    assert "https://example.com/seminar" in warnings[0]
    assert warnings[1].startswith(f"warning: {kommuner / 'local.yaml'}:2: handlingsveileder_url:")
