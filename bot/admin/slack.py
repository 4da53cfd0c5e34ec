"""CLI for OAuth installations of the Slack app: ``slack keygen | installations | rekey | remove``.

``keygen`` prints a new key for ``SLACK_TOKEN_KEY``. ``rekey`` re-encrypts every stored token with the
first key of ``SLACK_TOKEN_KEY`` (after a new key was put first), so the old one can then be
dropped. Tokens are never printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.admin.command import with_runtime

if TYPE_CHECKING:
    from bot.platforms.slack.tokens import TokenCipher
    from bot.runtime import Runtime


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    slack = sub.add_parser("slack", help="Slack workspaces installed through OAuth")
    slack_sub = slack.add_subparsers(dest="slack_command", required=True)
    keygen = slack_sub.add_parser("keygen", help="print a new key for SLACK_TOKEN_KEY")
    keygen.set_defaults(func=_keygen)
    listing = slack_sub.add_parser("installations", help="the workspaces the app is installed in")
    listing.set_defaults(func=with_runtime(_installations, tenant=False))
    rekey = slack_sub.add_parser(
        "rekey", help="re-encrypt the stored tokens with the first key of SLACK_TOKEN_KEY"
    )
    rekey.set_defaults(func=with_runtime(_rekey, tenant=False))
    remove = slack_sub.add_parser("remove", help="forget a workspace's tokens (nothing more sent)")
    remove.add_argument("team_id", help="the workspace id, T…")
    remove.set_defaults(func=with_runtime(_remove, tenant=False))


def _keygen(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def _cipher(runtime: Runtime) -> TokenCipher | None:
    if not runtime.settings.slack_oauth_enabled:
        print(
            "bts-bot: OAuth is off (set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET"
            " and SLACK_TOKEN_KEY)",
            file=sys.stderr,
        )
        return None
    from bot.platforms.slack.tokens import TokenCipher

    return TokenCipher.from_settings(runtime.settings)


async def _installations(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import slack_installs

    found = await slack_installs.list_installations(runtime.store)
    if not found:
        print("no Slack workspace is installed through OAuth")
        return 0
    for item in found:
        installed = item.installed_at.date().isoformat() if item.installed_at else "?"
        rotation = "rotating token" if item.refresh_token else "token without expiry"
        print(f"{item.team_id}  {item.team_name or '-'}  installed {installed}  {rotation}")
    return 0


async def _rekey(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import slack_installs

    cipher = _cipher(runtime)
    if cipher is None:
        return 2
    count = 0
    for item in await slack_installs.list_installations(runtime.store):
        refresh = cipher.rotate(item.refresh_token) if item.refresh_token else None
        done = await slack_installs.rotate_tokens(
            runtime.store,
            item.team_id,
            item.refresh_token,
            cipher.rotate(item.bot_token),
            refresh,
            item.expires_at,
        )
        count += int(done)
    print(f"re-encrypted the tokens of {count} workspace(s) with the first key")
    return 0


async def _remove(runtime: Runtime, args: argparse.Namespace) -> int:
    from storage import slack_installs

    if await slack_installs.delete_installation(runtime.store, args.team_id):
        print(f"forgot the tokens of {args.team_id}; nothing more is sent there")
        return 0
    print(f"bts-bot: {args.team_id} is not installed", file=sys.stderr)
    return 1
