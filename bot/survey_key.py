"""The key of the keyed hashes that keep anonymous survey answers apart from the people who gave
them (``storage.surveys``): derived from ``SURVEY_SECRET``, or, on the embedded default without
one, from a random key file in ``DATA_DIR`` made on first use. Never from the database: a dump of
the database alone must not be enough to recompute a hash. The key is never logged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from bot.config import Settings

KEY_FILE = "survey-secret"
_PURPOSE = b"bts-bot survey answers v1\0"


def _from_file(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting at once agree on whichever file was made first.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def survey_key(settings: Settings) -> bytes:
    """32 bytes for HMAC-SHA256, the same in every process with the same settings."""
    secret = settings.survey_secret.get_secret_value() if settings.survey_secret else ""
    if not secret:
        secret = _from_file(settings.data_dir / KEY_FILE)
    return hashlib.sha256(_PURPOSE + secret.encode()).digest()
