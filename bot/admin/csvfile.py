"""CSV files as Excel writes them in Norway, read for the admin imports.

Norwegian Excel saves "CSV (semikolondelt)" with ``;`` between the cells and in Windows-1252; "CSV
UTF-8" adds a byte-order mark; "Unicode-tekst" is UTF-16 with tabs. ``CsvFile.read`` takes any of
these: the encoding from the byte-order mark, else UTF-8 if the bytes are valid UTF-8, else
Windows-1252 (so æøå come out right either way); the separator is the one of ``,`` ``;`` and tab that
splits the header row into the most expected column names (else the most cells).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """The text of a file's bytes (see the module docstring); ``ValueError`` if none fits."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValueError("neither UTF-8 nor Windows-1252 text") from None


def detect_separator(text: str, expected: Sequence[str]) -> str:
    """The separator of the header row: most expected column names, then most cells; ``,`` when
    nothing tells them apart."""
    first = next((line for line in text.splitlines() if line.strip()), "")

    def score(sep: str) -> tuple[int, int]:
        cells = [c.strip().lower() for c in next(csv.reader([first], delimiter=sep), [])]
        return sum(c in expected for c in cells), len(cells)

    return max(SEPARATORS, key=lambda sep: (score(sep), sep == ","))


def separator_name(sep: str) -> str:
    """``';' (semicolon)`` for messages."""
    return f"{sep!r} ({SEPARATORS.get(sep, 'unknown')})"


@dataclass(frozen=True)
class CsvFile:
    """A CSV file named on the command line, read and decoded while the arguments are parsed."""

    path: Path
    text: str

    @classmethod
    def read(cls, name: str) -> CsvFile:
        """argparse ``type=``: an unreadable file is a usage error (exit 2) before any work."""
        try:
            return cls(Path(name), decode(Path(name).read_bytes()))
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {name}: {exc.strerror or exc}") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise argparse.ArgumentTypeError(f"cannot read {name}: {exc}") from exc

    def rows(self, expected: Sequence[str]) -> tuple[str, csv.DictReader[str]]:
        """The separator seen and a reader of the rows by header name (names stripped and in
        lower case, so ``Rolle ;`` is ``rolle``)."""
        sep = detect_separator(self.text, expected)
        return sep, dict_reader(self.text, sep)


def dict_reader(text: str, sep: str = ",") -> csv.DictReader[str]:
    reader = csv.DictReader(io.StringIO(text), delimiter=sep)
    if reader.fieldnames is not None:
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames]
    return reader


def header_problem(
    missing: Sequence[str], found: Sequence[str], sep: str, expected: Sequence[str],
    optional: Sequence[str] = (),
) -> str:  # fmt: skip
    """One line naming what is missing, the separator seen, the columns found and expected."""
    wanted = ", ".join(expected) + (f" (optional: {', '.join(optional)})" if optional else "")
    return (
        f"header: missing column(s) {', '.join(missing)}; read with separator "
        f"{separator_name(sep)}, found column(s) {', '.join(found) or '(none)'}; expected {wanted}"
    )
