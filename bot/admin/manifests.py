"""Slack and Teams app manifests, filled in with the bot's public URL (``bts-bot manifest``).

The templates live in the repo's ``manifest/`` folder and use the placeholder base URL
``https://bts-bot.example.org``:

- ``manifest/slack/manifest.yaml``: the Slack app manifest (classic format). Every occurrence of the
  placeholder is replaced with the real base URL; events, interactivity and ``/bts`` all go to
  ``<base>/slack/events``.
- ``manifest/teams/manifest.json`` with ``color.png`` and ``outline.png``: the Teams app package.
  The bot id becomes the Azure Bot's Microsoft App ID, ``validDomains`` the host of the base URL,
  and the developer URLs move under the base URL. ``write_manifest`` also zips the three files
  (at the root of the zip, as Teams requires) for upload.

Bad input (a base URL that is not plain http(s), or not https for Slack; an app id that is not a
GUID) raises ``ValueError``
with a message fit for one line on stderr.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from dialogs import yaml_source

PLACEHOLDER_BASE_URL = "https://bts-bot.example.org"
# The repository's folder; an installed package (the container) has none and is told where the
# copy is by MANIFEST_DIR.
MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifest"
SLACK_TEMPLATE = Path("slack") / "manifest.yaml"
TEAMS_DIR = Path("teams")
TEAMS_TEMPLATE = TEAMS_DIR / "manifest.json"
TEAMS_ICONS = ("color.png", "outline.png")
TEAMS_ZIP = "bts-bot-teams.zip"
NIL_GUID = "00000000-0000-0000-0000-000000000000"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
# a fixed timestamp for zip entries, so the same input gives a byte-identical package
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def normalize_base_url(base_url: str) -> str:
    """``base_url`` checked and without trailing slash, e.g. ``https://bts.example.no``.

    It must be an absolute http(s) URL with a host, and have no query, fragment, user name or
    password. A path prefix (``https://example.no/bts``) is kept.
    """
    url = base_url.strip()
    if not url:
        raise ValueError(
            "base URL is empty: give the bot's public URL, e.g. https://bts.example.no"
        )
    if _WHITESPACE_OR_CONTROL.search(url):
        raise ValueError(f"base URL must not contain spaces or control characters: {base_url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"base URL must start with https:// (or http://): {base_url!r}")
    if not parts.hostname:
        raise ValueError(f"base URL has no host name: {base_url!r}")
    if "?" in url:
        raise ValueError(f"base URL must not have a query string (?...): {base_url!r}")
    if "#" in url:
        raise ValueError(f"base URL must not have a fragment (#...): {base_url!r}")
    if "@" in parts.netloc:
        raise ValueError(f"base URL must not contain a user name or password: {base_url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError(f"base URL has an invalid port: {base_url!r}") from None
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def base_url_host(base_url: str) -> str:
    """The host name of ``base_url`` (lower case, no port), as Teams wants it in validDomains."""
    return urlsplit(normalize_base_url(base_url)).hostname or ""  # never empty once checked


def check_app_id(app_id: str, what: str = "app id") -> str:
    """``app_id`` if it is a usable GUID (the Azure Bot's Microsoft App ID), else ``ValueError``
    naming ``what``."""
    value = app_id.strip()
    if not value:
        raise ValueError(
            "the Teams manifest needs the bot's Microsoft App ID: pass --app-id <GUID> "
            "or set MICROSOFT_APP_ID"
        )
    if not _GUID.match(value):
        raise ValueError(
            f"{what} must be a GUID like 12345678-abcd-1234-abcd-1234567890ab: {app_id!r}"
        )
    if value == NIL_GUID:
        raise ValueError(
            f"{what} 00000000-0000-0000-0000-000000000000 is the template placeholder; "
            "use the Microsoft App ID of your Azure Bot"
        )
    return value


def _template(templates: Path, name: Path) -> Path:
    path = templates / name
    if not path.is_file():
        raise ValueError(
            f"manifest template {path} not found: set MANIFEST_DIR to the folder holding "
            "slack/manifest.yaml and teams/ (the repository's manifest/)"
        )
    return path


def render_slack_manifest(base_url: str, templates: Path = MANIFEST_DIR) -> str:
    """The Slack manifest (YAML text) with every placeholder URL replaced by ``base_url``, which
    must be https (Slack sends events only there). The template's opening comment, which is about
    the placeholder, is left out."""
    base = normalize_base_url(base_url)
    if not base.startswith("https://"):
        raise ValueError(
            f"Slack only calls https:// addresses: base URL must be https: {base_url!r}"
        )
    template = (
        _template(templates, SLACK_TEMPLATE).read_text(encoding="utf-8").splitlines(keepends=True)
    )
    while template and template[0].startswith("#"):
        template.pop(0)
    text = "".join(template).replace(PLACEHOLDER_BASE_URL, base)
    try:
        yaml_source.safe_load(text)
    except yaml.YAMLError as exc:  # cannot happen with a checked URL; never hand out broken YAML
        raise ValueError(f"base URL {base_url!r} gives an invalid Slack manifest: {exc}") from None
    return text


def _replace_base(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLACEHOLDER_BASE_URL, base)
    if isinstance(value, list):
        return [_replace_base(item, base) for item in value]
    if isinstance(value, dict):
        return {key: _replace_base(item, base) for key, item in value.items()}
    return value


def render_teams_manifest(
    base_url: str, app_id: str, teams_app_id: str = "", templates: Path = MANIFEST_DIR
) -> dict[str, Any]:
    """The Teams manifest for the bot ``app_id`` (a GUID) reachable at ``base_url``; the package
    id is ``teams_app_id`` (a GUID) or, when empty, the template's (the same across installs, so
    an update replaces the app Teams already has)."""
    base = normalize_base_url(base_url)
    bot_id = check_app_id(app_id)
    template = json.loads(_template(templates, TEAMS_TEMPLATE).read_text(encoding="utf-8"))
    manifest: dict[str, Any] = _replace_base(copy.deepcopy(template), base)
    if teams_app_id:
        manifest["id"] = check_app_id(teams_app_id, "--teams-app-id")
    for bot in manifest["bots"]:
        bot["botId"] = bot_id
    manifest["validDomains"] = [base_url_host(base)]
    return manifest


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def write_manifest(
    kind: Literal["slack", "teams"],
    base_url: str,
    out_dir: Path,
    app_id: str = "",
    teams_app_id: str = "",
    templates: Path = MANIFEST_DIR,
) -> list[Path]:
    """Write the ``kind`` manifest for ``base_url`` into ``out_dir``; return the written files.

    Slack: ``manifest.yaml``. Teams: ``manifest.json``, ``color.png``, ``outline.png`` and
    ``bts-bot-teams.zip`` (those three files at the zip root, ready to upload). Everything is
    checked before anything is written. ``templates`` is the folder with ``slack/`` and ``teams/``.
    """
    out_dir = Path(out_dir)
    templates = Path(templates).resolve()
    teams_dir = templates / TEAMS_DIR
    if out_dir.resolve() in ((templates / SLACK_TEMPLATE).parent, teams_dir):
        raise ValueError(f"{out_dir} holds the manifest templates; write to another folder")
    if kind == "slack":
        text = render_slack_manifest(base_url, templates)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "manifest.yaml"
        path.write_text(text, encoding="utf-8")
        return [path]
    if kind == "teams":
        manifest = render_teams_manifest(base_url, app_id, teams_app_id, templates)
        for icon in TEAMS_ICONS:
            _template(templates, TEAMS_DIR / icon)
        manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest_path = out_dir / "manifest.json"
        manifest_path.write_bytes(manifest_bytes)
        written = [manifest_path]
        for icon in TEAMS_ICONS:
            target = out_dir / icon
            shutil.copyfile(teams_dir / icon, target)
            written.append(target)
        zip_path = out_dir / TEAMS_ZIP
        with zipfile.ZipFile(zip_path, "w") as archive:
            _zip_entry(archive, "manifest.json", manifest_bytes)
            for icon in TEAMS_ICONS:
                _zip_entry(archive, icon, (teams_dir / icon).read_bytes())
        written.append(zip_path)
        return written
    raise ValueError(f"unknown manifest kind {kind!r}: use 'slack' or 'teams'")
