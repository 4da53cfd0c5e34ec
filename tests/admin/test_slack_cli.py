"""``bts-bot slack …``: a key for SLACK_TOKEN_KEY, the installed workspaces, re-encryption with a new
key (the old one can then be dropped) and forgetting a workspace — never printing a token."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

from bot.platforms.slack.tokens import TokenCipher
from storage import slack_installs
from storage.db import create_engine
from storage.migrate import upgrade_sync
from storage.repositories import Store
from storage.slack_installs import StoredInstallation
from tests.admin.test_cli import bts

OAUTH = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "s3cret",
    "SLACK_SIGNING_SECRET": "signing",
}


def put(url: str, key: str, team: str, token: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        cipher = TokenCipher(key)
        item = StoredInstallation(
            team_id=team,
            team_name=f"{team} kommune",
            enterprise_id="",
            app_id="A1",
            bot_user_id="UBOT",
            bot_id="B1",
            scopes="chat:write",
            bot_token=cipher.encrypt(token),
            refresh_token=cipher.encrypt("xoxe-refresh"),
            expires_at=None,
        )
        await slack_installs.save_installation(Store(engine), item)
        await engine.dispose()

    asyncio.run(run())


def test_keygen_installations_rekey_and_remove(tmp_path: Path) -> None:
    key = bts(tmp_path, "slack", "keygen").stdout.strip()
    TokenCipher(key)  # a usable Fernet key
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "bts-bot.sqlite3"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade_sync(url)
    put(url, key, "TSTRAND", "xoxb-strand-token")
    put(url, key, "TSIRDAL", "xoxb-sirdal-token")

    shown = bts(tmp_path, "slack", "installations", **OAUTH, SLACK_TOKEN_KEY=key)
    assert shown.returncode == 0, shown.stderr
    assert "TSIRDAL  TSIRDAL kommune" in shown.stdout and "rotating token" in shown.stdout
    assert "xoxb" not in shown.stdout + shown.stderr

    new = Fernet.generate_key().decode()
    rekeyed = bts(tmp_path, "slack", "rekey", **OAUTH, SLACK_TOKEN_KEY=f"{new},{key}")
    assert rekeyed.returncode == 0 and "2 workspace(s)" in rekeyed.stdout
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT team_id, bot_token FROM slack_installations"))
        refresh = conn.execute("SELECT refresh_token FROM slack_installations").fetchall()
    assert TokenCipher(new).decrypt(rows["TSTRAND"]) == "xoxb-strand-token"  # the new key alone
    assert all(TokenCipher(new).decrypt(r) == "xoxe-refresh" for (r,) in refresh)

    off = bts(tmp_path, "slack", "rekey")
    assert off.returncode == 2 and "OAuth is off" in off.stderr
    assert bts(tmp_path, "slack", "remove", "TSTRAND", **OAUTH, SLACK_TOKEN_KEY=new).returncode == 0
    gone = bts(tmp_path, "slack", "remove", "TSTRAND", **OAUTH, SLACK_TOKEN_KEY=new)
    assert gone.returncode == 1 and "not installed" in gone.stderr
    left = bts(tmp_path, "slack", "installations", **OAUTH, SLACK_TOKEN_KEY=new).stdout
    assert "TSTRAND" not in left and "TSIRDAL" in left
