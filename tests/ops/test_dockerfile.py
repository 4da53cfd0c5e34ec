"""The Dockerfile keeps its promises (README "Run with Docker Compose"): two stages on
python:3.11-slim, the locked dependencies installed with --no-deps through docker/install.sh, only
the venv carried into the runtime stage, a non-root user, a HEALTHCHECK that asks /healthz, and
docker/entrypoint.sh (migrations, then the server) as the start command. No Docker daemon is
needed: the file is read, and tests/ops/test_container.py runs the same scripts."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.dockerfile import Stage, stages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def build_and_runtime() -> tuple[Stage, Stage]:
    found = stages(DOCKERFILE)
    assert len(found) == 2, [s.base for s in found]
    return found[0], found[1]


def test_two_stages_on_python_311_slim() -> None:
    build, runtime = build_and_runtime()
    for stage in (build, runtime):
        assert re.fullmatch(r"python:3\.11-slim(@sha256:[0-9a-f]{64})?", stage.base), stage.base
    assert build.name and runtime.name
    copied = [c.words() for c in runtime.all("COPY")]
    from_build = [words for words in copied if words[0] == f"--from={build.name}"]
    assert from_build == [[f"--from={build.name}", "/opt/venv", "/opt/venv"]], copied
    # the runtime stage builds nothing: no pip, no compiler, no source tree
    for run in runtime.all("RUN"):
        assert "pip" not in run.args and "install.sh" not in run.args, run
    sources = {w for words in copied for w in words[:-1]}
    assert not sources & {"bot", "dialogs", "storage", ".", "tests"}, sources


def test_dependencies_come_from_the_lock_with_no_deps() -> None:
    build, _ = build_and_runtime()
    (install,) = [r for r in build.all("RUN") if "docker/install.sh" in r.args]
    assert install.words()[-2:] == ["/opt/venv", "/src"]
    copied = [w for c in build.all("COPY") for w in c.words()[:-1]]
    assert "requirements.lock" in copied and "docker/install.sh" in copied
    script = (ROOT / "docker" / "install.sh").read_text(encoding="utf-8")
    commands = [line for line in script.splitlines() if line.startswith("$pip install")]
    assert commands == [
        '$pip install --no-cache-dir --no-deps -r "$src/requirements.lock"',
        '$pip install --no-cache-dir --no-deps "$src"',
    ]
    assert "$pip check" in script
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    if "--hash=" in lock:  # a hashed lock must be installed with its hashes checked
        assert "--require-hashes" in script


def test_runs_as_a_non_root_user() -> None:
    _, runtime = build_and_runtime()
    users = runtime.all("USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0"), user
    # it is the user created above, and it owns the data folder (the only place it writes)
    assert any(f"--uid {user}" in r.args for r in runtime.all("RUN")), "USER is not created"
    assert any("chown bts:bts /app/data" in r.args for r in runtime.all("RUN"))
    last_user_line = users[-1].line
    assert all(i.line < last_user_line for i in runtime.all("RUN")), "RUN after USER"


def test_healthcheck_asks_healthz() -> None:
    _, runtime = build_and_runtime()
    (check,) = runtime.all("HEALTHCHECK")
    command = check.exec_form()
    assert command == ["python", "/app/docker/healthcheck.py"], check.args
    assert re.search(r"--interval=\d+s", check.args) and re.search(r"--timeout=\d+s", check.args)
    copied = [w for c in runtime.all("COPY") for w in c.words()]
    assert "docker/healthcheck.py" in copied
    script = (ROOT / "docker" / "healthcheck.py").read_text(encoding="utf-8")
    assert "/healthz" in script and "os.environ.get('PORT', '3978')" in script
    assert runtime.env()["PORT"] == "3978"


def test_start_command_is_the_entrypoint_script() -> None:
    _, runtime = build_and_runtime()
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert entrypoint.exec_form() == ["/app/docker/entrypoint.sh"]
    assert not runtime.all("CMD")  # the script decides: migrate, then serve
    script = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert "bts-bot db upgrade" in script
    assert "exec bts-bot serve" in script  # exec: SIGTERM reaches the server, not a shell
    for name in ("entrypoint.sh", "install.sh"):
        assert (ROOT / "docker" / name).stat().st_mode & 0o111, f"docker/{name} not executable"


def test_image_settings_point_into_the_image() -> None:
    _, runtime = build_and_runtime()
    env = runtime.env()
    assert env["DATA_DIR"] == "/app/data" and env["KOMMUNE_DIR"] == "/app/kommuner"
    assert env["MANIFEST_DIR"] == "/app/manifest"
    assert env["HOST"] == "0.0.0.0"
    assert env["PATH"].startswith("/opt/venv/bin:")
    volumes = [v.args for v in runtime.all("VOLUME")]
    assert volumes == ['["/app/data"]']
    assert [e.args for e in runtime.all("EXPOSE")] == ["3978"]


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for name in (".env", ".venv", "data", ".git"):
        assert name in ignored, name
