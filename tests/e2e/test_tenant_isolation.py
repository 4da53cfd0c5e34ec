"""Tenant isolation: two Slack workspaces and two Teams tenants on one database, with the same user
ids and the same unit names, each with its own people. Nothing of one ever shows in another's chat
reply, reminders, survey, stats, a person's data export or other CLI output.

Each tenant's people carry the tenant's own surname, so a leak is a foreign surname in the output.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.runtime import Runtime
from dialogs.messages import Reply, Turn
from tests.admin.test_cli import bts

TENANTS = {
    "slack:TSTRAND": ("slack", "Strandheim"),
    "slack:TSIRDAL": ("slack", "Sirdalsvik"),
    "teams:0a6b1c2d-0000-4000-8000-00000000aaaa": ("teams", "Tromsnes"),
    "teams:0a6b1c2d-0000-4000-8000-00000000bbbb": ("teams", "Bodømark"),
}
UNIT = "Sentrum skole"
USER = "U0KARI01"  # the same person id in every tenant (ids are only unique within a workspace)


def surnames_except(tenant: str) -> list[str]:
    return [name for other, (_, name) in TENANTS.items() if other != tenant]


def assert_only_own(tenant: str, text: str) -> None:
    for foreign in surnames_except(tenant):
        assert foreign not in text, f"{tenant} shows {foreign}:\n{text}"


def text_of(reply: Reply) -> str:
    return json.dumps(
        [m.text for m in reply.messages] + [str(m) for m in reply.messages], ensure_ascii=False
    )


@pytest.fixture(scope="module")
def kommuner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four tenants set up the way their admins would, with the CLI, on one database."""
    root = tmp_path_factory.mktemp("isolation")
    for tenant, (platform, name) in TENANTS.items():
        contacts = root / f"contacts-{name}.csv"
        contacts.write_text(
            "enhet,navn,plattform,bruker_id,telefon,epost\n"
            f"{UNIT},Kari {name},{platform},{USER},900{len(name)}0000,kari@{name.lower()}.no\n",
            encoding="utf-8",
        )
        roles = root / f"roles-{name}.csv"
        roles.write_text(
            "rolle,enhet,plattform,bruker_id,navn,stedfortreder_id\n"
            f"bts-koordinator,,{platform},U0OLA002,Ola {name},\n"
            f"virksomhetsleder,{UNIT},{platform},U0PER003,Per {name},\n",
            encoding="utf-8",
        )
        for args in (
            ("arshjul", "use", "hadsel"),
            (
                "roles",
                "import",
                str(roles),
                "--yes",
            ),  # first: it replaces every holder, BTS-kontakter too
            ("contacts", "import", str(contacts), "--yes"),
        ):
            done = bts(root, *args, "--tenant", tenant)
            assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize("tenant", list(TENANTS))
def test_cli_output_of_a_tenant_shows_only_its_own_people(kommuner: Path, tenant: str) -> None:
    platform, own = TENANTS[tenant]
    for args in (
        ("user", "export", platform, USER),
        ("contacts", "export"),
        ("roles", "export"),
        ("reminders", "preview", "--from", "2027-08-01", "--to", "2027-10-01"),
        ("stats",),
        ("survey", "list"),
        ("plan", "list"),
    ):
        result = bts(kommuner, *args, "--tenant", tenant)
        assert result.returncode in (0, 1), result.stderr
        assert_only_own(tenant, result.stdout + result.stderr)
        if args[0] in ("contacts", "roles", "user"):
            assert own in result.stdout, args


def test_chat_replies_and_surveys_stay_in_their_tenant(kommuner: Path) -> None:
    async def run() -> None:
        settings = load_settings(data_dir=kommuner / "data", kommune_dir=kommuner / "kommuner")
        runtime = await Runtime.start(settings)
        try:
            for tenant, (platform, own) in TENANTS.items():
                turn = Turn(platform, tenant, USER, "D1", text=f"hvem er bts-kontakt på {UNIT}?")  # type: ignore[arg-type]
                await runtime.router.handle(turn)  # first contact: the welcome
                answer = text_of(await runtime.router.handle(turn))
                assert f"Kari {own}" in answer, answer
                assert_only_own(tenant, answer)
        finally:
            await runtime.close()

    asyncio.run(run())
    # A survey launched in one tenant reaches only that tenant's people and shows only there.
    first = next(iter(TENANTS))
    launched = bts(
        kommuner,
        "survey", "launch", "puls", "--tenant", first,
        "--audience", "users:U0KARI01,U0OLA002,U0PER003,U0X00004,U0X00005", "--close", "2027-09-30", "--json",
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    assert "puls" in bts(kommuner, "survey", "list", "--tenant", first).stdout

    def outbox(tenant: str) -> dict[str, int]:
        shown = bts(kommuner, "reminders", "status", "--tenant", tenant, "--json").stdout
        return dict(json.loads(shown)["counts"])

    assert outbox(first).get("pending", 0) >= 5  # the five invitations (and their nudges)
    for tenant in list(TENANTS)[1:]:
        assert "puls" not in bts(kommuner, "survey", "list", "--tenant", tenant).stdout
        assert outbox(tenant) == {}  # nobody with the same ids elsewhere is invited
