"""The Slack and Teams app manifests: templates, rendering, the Teams package and ``bts-bot manifest``.

Manifests are validated against the official schemas (from ``../shared/schemas`` or
$BTS_SHARED_DIR): Slack against ``slack-app-manifest-1.0.0.schema.json`` (the classic format, no
remote refs), Teams against ``teams-app-manifest-v1.30.schema.json``. The Teams schema says
draft-04, which ignores ``const``, so it is checked with ``Draft7Validator`` (which enforces the
``manifestVersion`` const) plus an explicit ``manifestVersion`` check. Broken manifests must fail,
so a validator that accepts everything cannot pass these tests.

The icons are read with a small PNG decoder below (zlib + the five PNG row filters), so the tests
need no image library.
"""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.admin import manifests
from bot.admin.manifests import (
    PLACEHOLDER_BASE_URL,
    normalize_base_url,
    render_slack_manifest,
    render_teams_manifest,
    write_manifest,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("BTS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
SLACK_TEMPLATE = REPO / "manifest" / "slack" / "manifest.yaml"
TEAMS_TEMPLATE = REPO / "manifest" / "teams" / "manifest.json"
APP_ID = "3f2b8c1e-9d4a-4e6b-a1c2-7e5d9f0b1a23"
BASE = "https://bts.kommune.example.no"
TEAMS_FILES = ["color.png", "manifest.json", "outline.png"]

SLACK_SCOPES = {
    "chat:write",
    "files:write",
    "channels:read",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "commands",
    "users:read",
}
SLACK_EVENTS = {
    "message.im",
    "app_mention",
    "app_home_opened",
    "member_joined_channel",
    "app_uninstalled",  # an OAuth install's tokens are dropped
    "tokens_revoked",
}


# schemas and validation --------------------------------------------------------------------------


@cache
def _schema(name: str) -> dict[str, Any]:
    path = SHARED / "schemas" / name
    if not path.is_file():
        pytest.fail(f"schema {path} not found (set BTS_SHARED_DIR to the shared folder)")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _errors(validator: Draft7Validator, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in validator.iter_errors(instance)
    ]


def slack_errors(manifest: object) -> list[str]:
    return _errors(Draft7Validator(_schema("slack-app-manifest-1.0.0.schema.json")), manifest)


def teams_errors(manifest: object) -> list[str]:
    errors = _errors(Draft7Validator(_schema("teams-app-manifest-v1.30.schema.json")), manifest)
    # the schema is draft-04, which ignores const: never rely on the validator alone for this
    version = manifest.get("manifestVersion") if isinstance(manifest, dict) else None
    if version != "1.30":
        errors.append(f"manifestVersion: expected '1.30', got {version!r}")
    return errors


def strings(value: object) -> Iterator[str]:
    """Every string anywhere in a parsed manifest."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def urls(value: object) -> list[str]:
    return [s for s in strings(value) if s.startswith(("http://", "https://"))]


# Slack -------------------------------------------------------------------------------------------


def test_slack_template_validates_and_asks_for_what_the_bot_needs() -> None:
    manifest = yaml.safe_load(SLACK_TEMPLATE.read_text(encoding="utf-8"))
    assert slack_errors(manifest) == []
    assert manifest["_metadata"]["major_version"] == 1
    info = manifest["display_information"]
    assert info["name"] == "BTS-bot"
    assert "BTI/BTS" in info["description"]
    features = manifest["features"]
    assert features["bot_user"]["display_name"] == "BTS-bot"
    assert features["app_home"]["messages_tab_enabled"] is True
    (command,) = features["slash_commands"]
    assert command["command"] == "/bts"
    assert command["description"] == "BTS-bot: hjelp, veileder, årshjul"
    assert command["usage_hint"] == "[hjelp | uro | årshjul]"
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == SLACK_SCOPES
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == SLACK_EVENTS
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    endpoint = f"{PLACEHOLDER_BASE_URL}/slack/events"
    assert settings["event_subscriptions"]["request_url"] == endpoint
    assert settings["interactivity"]["request_url"] == endpoint
    assert command["url"] == endpoint
    redirect = f"{PLACEHOLDER_BASE_URL}/slack/oauth_redirect"
    assert manifest["oauth_config"]["redirect_urls"] == [redirect]
    assert set(urls(manifest)) == {endpoint, redirect}


@pytest.mark.parametrize(
    ("base_url", "base"),
    [
        (BASE, BASE),
        (BASE + "/", BASE),
        ("https://Example.NO:8443/bts/", "https://example.no:8443/bts"),
    ],
)
def test_rendered_slack_manifest_uses_the_base_url_everywhere(base_url: str, base: str) -> None:
    text = render_slack_manifest(base_url)
    assert PLACEHOLDER_BASE_URL not in text
    manifest = yaml.safe_load(text)
    assert slack_errors(manifest) == []
    found = urls(manifest)
    assert len(found) == 4  # events, interactivity, /bts, the OAuth redirect
    assert set(found) == {f"{base}/slack/events", f"{base}/slack/oauth_redirect"}
    template = yaml.safe_load(SLACK_TEMPLATE.read_text(encoding="utf-8"))
    assert len(urls(template)) == len(found)


def _mutate(manifest: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy with ``path`` (keys/indexes joined by '.') set to ``value``, or deleted if None."""
    broken = copy.deepcopy(manifest)
    *parents, last = path.split(".")
    node: Any = broken
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("display_information", None),  # required
        ("display_information.name", None),  # required
        ("features.slash_commands.0.command", "bts"),  # must start with /
        ("settings.event_subscriptions.request_url", "ftp://example.org/slack/events"),
        ("settings.interactivity.is_enabled", "yes"),  # boolean
        ("settings.socket_mode", False),  # unknown key (it is socket_mode_enabled)
    ],
)
def test_broken_slack_manifest_fails_validation(path: str, value: object) -> None:
    manifest = yaml.safe_load(SLACK_TEMPLATE.read_text(encoding="utf-8"))
    assert slack_errors(_mutate(manifest, path, value)) != []


# Teams -------------------------------------------------------------------------------------------


def test_teams_template_validates_and_describes_the_bot() -> None:
    manifest = json.loads(TEAMS_TEMPLATE.read_text(encoding="utf-8"))
    assert teams_errors(manifest) == []
    assert manifest["$schema"] == (
        "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
    )
    assert manifest["manifestVersion"] == "1.30"
    (bot,) = manifest["bots"]
    assert bot["botId"] == "00000000-0000-0000-0000-000000000000"
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert bot["supportsFiles"] is False
    commands = [c for lst in bot["commandLists"] for c in lst["commands"]]
    assert [c["title"] for c in commands] == ["hjelp"]
    assert commands[0]["description"]
    assert manifest["validDomains"] == ["bts-bot.example.org"]
    assert manifest["developer"]["name"] == "BTS-bot"
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith(PLACEHOLDER_BASE_URL + "/")
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    for icon in manifest["icons"].values():
        assert (TEAMS_TEMPLATE.parent / icon).is_file()


def test_rendered_teams_manifest_has_app_id_domain_and_urls() -> None:
    manifest = render_teams_manifest(BASE + "/", APP_ID)
    assert teams_errors(manifest) == []
    assert [bot["botId"] for bot in manifest["bots"]] == [APP_ID]
    assert manifest["validDomains"] == ["bts.kommune.example.no"]
    assert "example.org" not in json.dumps(manifest)
    ours = urls({k: v for k, v in manifest.items() if k != "$schema"})
    assert len(ours) == 3  # the developer's website, privacy and terms URLs
    for url in ours:
        assert url.startswith(BASE + "/"), url
    template = json.loads(TEAMS_TEMPLATE.read_text(encoding="utf-8"))
    assert manifest["id"] == template["id"]  # the Teams app id stays fixed across installs


def test_teams_valid_domain_is_the_host_without_port_or_path() -> None:
    manifest = render_teams_manifest("https://Bot.Example.NO:8443/bts", APP_ID)
    assert manifest["validDomains"] == ["bot.example.no"]
    assert manifest["developer"]["privacyUrl"].startswith("https://bot.example.no:8443/bts/")
    assert teams_errors(manifest) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("manifestVersion", "1.17"),  # draft-04 would let this through
        ("developer", None),  # required
        ("name.short", None),  # required
        ("bots.0.botId", "not-a-guid"),
        ("bots.0.scopes", ["personal", "everywhere"]),
        ("accentColor", "blue"),
        ("description.short", "x" * 81),
        ("packageName", "no.example.bts"),  # not allowed any more (additionalProperties)
    ],
)
def test_broken_teams_manifest_fails_validation(path: str, value: object) -> None:
    manifest = render_teams_manifest(BASE, APP_ID)
    assert teams_errors(manifest) == []
    assert teams_errors(_mutate(manifest, path, value)) != []


def test_the_schema_itself_enforces_manifest_version() -> None:
    """Draft7Validator enforces const; the explicit check in teams_errors is only a second net."""
    manifest = _mutate(render_teams_manifest(BASE, APP_ID), "manifestVersion", "1.17")
    schema = _schema("teams-app-manifest-v1.30.schema.json")
    assert any("1.30" in msg for msg in _errors(Draft7Validator(schema), manifest))


# icons -------------------------------------------------------------------------------------------


def read_png(path: Path) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and color_type in (2, 6), "unsupported PNG layout"
    channels = 4 if color_type == 6 else 3
    stride = width * channels
    raw = zlib.decompress(idat)
    prev = bytearray(stride)
    pixels: list[tuple[int, int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind_byte, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind_byte == 1:
                pred = a
            elif kind_byte == 2:
                pred = b
            elif kind_byte == 3:
                pred = (a + b) // 2
            elif kind_byte == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            else:
                assert kind_byte == 0, f"bad PNG filter {kind_byte}"
                pred = 0
            line[x] = (line[x] + pred) & 0xFF
        for x in range(0, stride, channels):
            px = tuple(line[x : x + channels])
            pixels.append((px[0], px[1], px[2], px[3] if channels == 4 else 255))
        prev = line
    return width, height, pixels


def test_color_icon_is_192_full_colour() -> None:
    width, height, pixels = read_png(TEAMS_TEMPLATE.parent / "color.png")
    assert (width, height) == (192, 192)
    opaque = [p[:3] for p in pixels if p[3] == 255]
    assert len(opaque) > 0.9 * len(pixels), "the colour icon is a filled tile"
    accent = json.loads(TEAMS_TEMPLATE.read_text(encoding="utf-8"))["accentColor"]
    blue = (int(accent[1:3], 16), int(accent[3:5], 16), int(accent[5:7], 16))
    assert opaque.count(blue) > 0.4 * len(pixels), "the tile is the accent colour"
    assert (255, 255, 255) in opaque, "with a white symbol"


def test_outline_icon_is_32_white_on_transparent() -> None:
    width, height, pixels = read_png(TEAMS_TEMPLATE.parent / "outline.png")
    assert (width, height) == (32, 32)
    assert {p[:3] for p in pixels} == {(255, 255, 255)}, "only white (and alpha) allowed"
    alphas = [p[3] for p in pixels]
    assert alphas.count(0) > len(pixels) // 3, "mostly transparent"
    assert max(alphas) == 255, "with a visible white shape"


def test_png_reader_sees_colour() -> None:
    """The decoder above is not blind: a non-white pixel would be noticed."""
    _, _, pixels = read_png(TEAMS_TEMPLATE.parent / "color.png")
    assert len({p[:3] for p in pixels}) > 2


# writing files -----------------------------------------------------------------------------------


def test_write_slack_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out" / "slack"
    paths = write_manifest("slack", BASE, out)
    assert paths == [out / "manifest.yaml"]
    assert paths[0].read_text(encoding="utf-8") == render_slack_manifest(BASE)


def test_write_teams_package(tmp_path: Path) -> None:
    paths = write_manifest("teams", BASE, tmp_path, app_id=APP_ID)
    assert sorted(p.name for p in paths) == sorted([*TEAMS_FILES, "bts-bot-teams.zip"])
    assert all(p.parent == tmp_path and p.is_file() for p in paths)
    written = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert written == render_teams_manifest(BASE, APP_ID)
    assert teams_errors(written) == []
    with zipfile.ZipFile(tmp_path / "bts-bot-teams.zip") as archive:
        assert sorted(archive.namelist()) == TEAMS_FILES  # exactly these, at the zip root
        assert archive.testzip() is None
        assert archive.read("manifest.json") == (tmp_path / "manifest.json").read_bytes()
        for icon in ("color.png", "outline.png"):
            assert archive.read(icon) == (TEAMS_TEMPLATE.parent / icon).read_bytes()
            assert archive.read(icon) == (tmp_path / icon).read_bytes()


def test_teams_package_is_reproducible(tmp_path: Path) -> None:
    write_manifest("teams", BASE, tmp_path / "a", app_id=APP_ID)
    write_manifest("teams", BASE, tmp_path / "b", app_id=APP_ID)
    zip_a = (tmp_path / "a" / "bts-bot-teams.zip").read_bytes()
    assert zip_a == (tmp_path / "b" / "bts-bot-teams.zip").read_bytes()


# bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "",
        "bts.example.no",
        "ftp://bts.example.no",
        "https://",
        "https:///slack",
        "https://bts.example.no/?x=1",
        "https://bts.example.no?",
        "https://bts.example.no/#top",
        "https://user:secret@bts.example.no",
        "https://bts.example.no:99999",
        "https://bts.example.no/a b",
    ],
)
def test_bad_base_url_is_a_value_error(base_url: str, tmp_path: Path) -> None:
    renderers: list[Callable[[], object]] = [
        lambda: render_slack_manifest(base_url),
        lambda: render_teams_manifest(base_url, APP_ID),
    ]
    for render in renderers:
        with pytest.raises(ValueError, match="base URL"):
            render()
    with pytest.raises(ValueError):
        write_manifest("slack", base_url, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "nothing is written for bad input"


@pytest.mark.parametrize(
    "app_id",
    [
        "",
        "   ",
        "bts-bot",
        "3f2b8c1e9d4a4e6ba1c27e5d9f0b1a23",  # no dashes
        "{3f2b8c1e-9d4a-4e6b-a1c2-7e5d9f0b1a23}",
        "3f2b8c1e-9d4a-4e6b-a1c2-7e5d9f0b1a2g",
        "00000000-0000-0000-0000-000000000000",  # the template placeholder
    ],
)
def test_non_guid_app_id_is_a_value_error(app_id: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"(?i)app id"):
        render_teams_manifest(BASE, app_id)
    with pytest.raises(ValueError):
        write_manifest("teams", BASE, tmp_path / "out", app_id=app_id)
    assert not (tmp_path / "out").exists()


def test_unknown_kind_and_template_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        write_manifest("discord", BASE, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="templates"):
        write_manifest("teams", BASE, manifests.MANIFEST_DIR / manifests.TEAMS_DIR, app_id=APP_ID)


def test_normalize_base_url() -> None:
    assert normalize_base_url(" https://BTS.Example.no/ ") == "https://bts.example.no"
    assert normalize_base_url("http://localhost:3978") == "http://localhost:3978"
    assert normalize_base_url("https://example.no/Bts//") == "https://example.no/Bts"
    assert urlsplit(normalize_base_url(BASE)).hostname == "bts.kommune.example.no"


# the command line --------------------------------------------------------------------------------


def bts(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``bts-bot`` in a clean environment (no .env, no MICROSOFT_APP_ID from the shell)."""
    clean = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean,
    )


def test_cli_writes_slack_manifest(tmp_path: Path) -> None:
    out = tmp_path / "slack"
    result = bts(
        tmp_path, "manifest", "slack", "--base-url", "https://x.example.no", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))
    assert slack_errors(manifest) == []
    assert set(urls(manifest)) == {
        "https://x.example.no/slack/events",
        "https://x.example.no/slack/oauth_redirect",
    }


def test_cli_writes_teams_package(tmp_path: Path) -> None:
    out = tmp_path / "teams"
    result = bts(
        tmp_path,
        "manifest",
        "teams",
        "--base-url",
        "https://x.example.no",
        "--app-id",
        APP_ID,
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    for name in [*TEAMS_FILES, "bts-bot-teams.zip"]:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["x.example.no"]


def test_cli_teams_app_id_defaults_to_microsoft_app_id(tmp_path: Path) -> None:
    args = ("manifest", "teams", "--base-url", "https://x.example.no", "--out", "pkg")
    result = bts(tmp_path, *args, MICROSOFT_APP_ID=APP_ID)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "pkg" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["bots"][0]["botId"] == APP_ID


def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    no_id = bts(tmp_path, "manifest", "teams", "--base-url", "https://x.example.no", "--out", "o")
    assert no_id.returncode == 2
    assert "MICROSOFT_APP_ID" in no_id.stderr and "Traceback" not in no_id.stderr
    bad_url = bts(tmp_path, "manifest", "slack", "--base-url", "x.example.no", "--out", "o")
    assert bad_url.returncode == 2
    assert "base URL" in bad_url.stderr and "Traceback" not in bad_url.stderr
    assert not (tmp_path / "o").exists()


def test_slack_manifest_needs_https_and_drops_the_placeholder_comment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="https"):
        render_slack_manifest("http://bts.example.no")
    text = render_slack_manifest(BASE)
    assert "example.org" not in text and not text.lstrip().startswith("#")
    assert slack_errors(yaml.safe_load(text)) == []
    refused = bts(tmp_path, "manifest", "slack", "--base-url", "http://x.example.no")
    assert refused.returncode == 2 and "https" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "out").exists()


def test_cli_teams_app_id_and_default_out_folder(tmp_path: Path) -> None:
    package_id = "3f2b8c1e-9d4a-4e6b-a1c2-7e5d9f0b1a23"
    args = ("manifest", "teams", "--base-url", BASE, "--app-id", APP_ID)
    result = bts(tmp_path, *args, "--teams-app-id", package_id)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["id"] == package_id and manifest["bots"][0]["botId"] == APP_ID
    assert teams_errors(manifest) == []
    assert not (tmp_path / "manifest.json").exists(), "nothing in the current folder"
    bad = bts(tmp_path, *args, "--teams-app-id", "not-a-guid", "--out", "bad")
    assert bad.returncode == 2 and "--teams-app-id must be a GUID" in bad.stderr
    assert not (tmp_path / "bad").exists()
