"""Structured logging: one JSON object per line, with tenant and platform when known.

Log calls pass facts as ``extra={...}``; message text typed by users is never logged, and the formatter
drops any extra field named like a secret or a message body as a second line of defence.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_FORBIDDEN = {"text", "body", "token", "password", "secret", "authorization"}


class JsonLineFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_") or key.lower() in _FORBIDDEN:
                continue
            entry[key] = (
                value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
            )
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    """Send JSON lines to stderr; quiet the chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "aiohttp.access",
        "alembic",
        "slack_bolt",
        "slack_sdk",
        "msrest",
        "msal",
        "urllib3",
        "apscheduler",  # logs every tick of the 20 s dispatch job at INFO
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
