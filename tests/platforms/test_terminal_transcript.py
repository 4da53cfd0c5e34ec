"""``bts-bot chat`` as a person sees it in a terminal: the README's transcript, typed into a real
pseudo-terminal 100 columns wide, must come out as the README shows it.

The transcript is read from README.md (the ``text`` block under "A guided conversation"), so the
README cannot drift from what the bot prints. Lines starting with ``> `` are typed (the terminal
echoes them, as it does for a person); a line holding only ``…`` stands for lines left out.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from dialogs.content import Content
from tests.support.server import clean_env

README = Path(__file__).resolve().parents[2] / "README.md"
COLUMNS = 100
ELIDED = "…"
#: A guard against a hung process, not a timing assertion: the first answer loads the model.
READ_LIMIT_S = 120
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def readme_transcript() -> list[str]:
    """The lines of the terminal transcript in README.md."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### A guided conversation (terminal", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.S)
    assert block, "README: the guided conversation has a ```text block"
    return block.group(1).rstrip("\n").split("\n")


class Terminal:
    """``bts-bot chat`` on a pseudo-terminal: type a line once the prompt is shown, read the screen."""

    def __init__(self, data_dir: Path, columns: int = COLUMNS) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "chat"],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            cwd=data_dir.parent,
            env=clean_env(data_dir),  # no COLUMNS: the width comes from the terminal itself
        )
        os.close(slave)
        self.raw = b""
        self.typed_at = 0  # where the screen was when the last line was typed

    def _read_until_prompt(self) -> None:
        while not (len(self.raw) > self.typed_at and self.raw.endswith(b"> ")):
            ready, _, _ = select.select([self.master], [], [], READ_LIMIT_S)
            assert ready, f"no prompt from bts-bot chat; the screen so far:\n{self.screen()}"
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"bts-bot chat ended early:\n{self.screen()}"
            self.raw += chunk

    def type(self, line: str) -> None:
        self._read_until_prompt()
        self.typed_at = len(self.raw)
        os.write(self.master, line.encode() + b"\n")

    def close(self) -> str:
        """Read to the end once the chat has been told to quit; the whole screen."""
        while True:
            ready, _, _ = select.select([self.master], [], [], READ_LIMIT_S)
            assert ready, f"bts-bot chat did not end:\n{self.screen()}"
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the chat exited and closed the terminal
                break
            if not chunk:
                break
            self.raw += chunk
        _, errors = self.process.communicate(timeout=READ_LIMIT_S)
        assert self.process.returncode == 0, errors.decode()
        os.close(self.master)
        return self.screen()

    def screen(self) -> str:
        """What the person sees, without the colour codes and the tty's carriage returns."""
        return _ANSI.sub("", self.raw.decode("utf-8", "replace")).replace("\r\n", "\n")


def differences(expected: list[str], shown: list[str]) -> str | None:
    """Where ``shown`` departs from ``expected`` (``…`` lines skip ahead), or None."""
    at = 0
    for i, want in enumerate(expected):
        if want.strip() == ELIDED:
            following = expected[i + 1] if i + 1 < len(expected) else None
            while at < len(shown) and following is not None and shown[at] != following:
                at += 1
            continue
        got = shown[at] if at < len(shown) else "<end of output>"
        if got != want:
            context = "\n".join(shown[max(0, at - 3) : at + 4])
            return f"README line {i + 1}:\n  README: {want!r}\n  screen: {got!r}\n{context}"
        at += 1
    return None


def run_transcript(tmp_path: Path, lines: list[str]) -> str:
    terminal = Terminal(tmp_path / "data")
    try:
        for line in lines:
            if line.startswith("> "):
                terminal.type(line[2:])
        return terminal.close()  # the last typed line is «avslutt»
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    """The README's transcript typed on first contact (a fresh database), and the screen."""
    lines = readme_transcript()
    assert lines[-1] == "> avslutt", "the README's transcript ends the chat"
    return lines, run_transcript(tmp_path_factory.mktemp("readme"), lines)


def test_the_readme_transcript_is_what_the_terminal_shows(
    readme_run: tuple[list[str], str],
) -> None:
    lines, screen = readme_run
    shown = screen.split("\n")
    assert lines[0].startswith("$ bts-bot chat"), "the transcript starts with the command"
    problem = differences(lines[1:], shown)
    assert problem is None, problem


def test_first_contact_numbers_only_the_answers_buttons(readme_run: tuple[list[str], str]) -> None:
    _, screen = readme_run
    # The welcome comes first, then the guide's start; «2» pressed the guide's «Nei – start med
    # nivå 0», not the welcome's second button.
    welcome, rest = screen.split("Veileder ved uro for et barn", 1)
    assert "Hei, og velkommen til BTS-bot" in welcome and "[1]" not in welcome
    assert "> 2\nNivå 0 – undring og avklaring" in rest


def test_markdown_is_rendered_not_printed(readme_run: tuple[list[str], str]) -> None:
    _, screen = readme_run
    assert "**" not in screen and "](http" not in screen
    assert not re.search(r"(?<!\w)_\S[^_\n]*\S_(?!\w)", screen), "no _italic_ markers"
    assert all(len(line) <= COLUMNS for line in screen.split("\n")), "wrapped to the width"


def test_a_narrow_terminal_wraps_at_word_boundaries(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path / "data", columns=60)
    try:
        terminal.type("hva er bts")
        terminal.type("avslutt")
        screen = terminal.close()
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
    lines = screen.split("\n")
    assert all(len(line) <= 60 for line in lines), [line for line in lines if len(line) > 60]
    # every word of the answer arrives whole: none was cut at the terminal's edge
    about = Content.load().message("nb", "help.about").text.replace("**", "")
    shown_words = set(" ".join(lines).split())
    assert set(about.split()) <= shown_words, set(about.split()) - shown_words
    assert "- Nivå 1 – tiltak i egen tjeneste:" in screen  # the list item, bold markers gone
