"""compose.yaml is a valid Compose file (the official compose-spec JSON schema, vendored in
tests/schemas with its provenance) and does what README "Run with Docker Compose" says: the bot
and PostgreSQL, the database's data in a named volume, a database healthcheck the bot waits for
(``condition: service_healthy``), and the image's own start command (migrations, then serve)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8")))


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_rejects_a_broken_file() -> None:
    """The validation can fail: a misspelt key and a wrong condition are refused."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = compose()
    broken["services"]["bot"]["depends_on"]["db"]["condition"] = "service_ready"
    broken["services"]["bot"]["helthcheck"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)


def test_bot_waits_for_a_healthy_database_and_keeps_it_in_a_named_volume() -> None:
    spec = compose()
    db, bot = spec["services"]["db"], spec["services"]["bot"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?(-\w+)?", db["image"]), db["image"]
    major = int(db["image"].split(":")[1].split(".")[0].split("-")[0])
    (volume,) = db["volumes"]
    name, _, target = volume.partition(":")
    assert name in spec["volumes"], "the database volume must be a named volume"
    # PostgreSQL 18+ images keep PGDATA under /var/lib/postgresql/<major>/docker
    assert target == ("/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data")
    test = " ".join(db["healthcheck"]["test"])
    assert "pg_isready" in test
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"


def test_bot_uses_the_image_start_command_and_talks_to_the_database() -> None:
    bot = compose()["services"]["bot"]
    assert bot["build"] == "."
    # no command/entrypoint override: docker/entrypoint.sh migrates, then serves
    assert "command" not in bot and "entrypoint" not in bot
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://bts:") and url.endswith("@db:5432/bts")
    assert "${POSTGRES_PASSWORD:?" in url  # no default password: compose refuses without one
    assert bot["ports"] == ["${BOT_PORT:-3978}:3978"]
    (data,) = bot["volumes"]
    assert data.split(":")[1] == "/app/data"  # the image's DATA_DIR (survey key file)
    assert bot["cap_drop"] == ["ALL"]


def test_no_secret_is_written_into_the_compose_file() -> None:
    for service in compose()["services"].values():
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), key
    assert not re.search(r"xox[bpa]-", (ROOT / "compose.yaml").read_text(encoding="utf-8"))
