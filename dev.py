#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11+: ``python3 dev.py serve`` and ``python3 dev.py test``.

It creates ``.venv`` in the repository, installs the pinned dependencies (``requirements*.lock``) and
the project, and then runs the bot or the whole test suite. ``test`` also makes sure a Chromium for the
web chat test exists (Debian's ``chromium`` via apt-get when run as root). Reinstalls only when a lock
file or pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_venv(dev: bool) -> None:
    """Create .venv and install the locked dependencies plus the project (editable)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py must explain itself on old Pythons
        sys.exit(f"BTS-bot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    lock = ROOT / ("requirements-dev.lock" if dev else "requirements.lock")
    digest = hashlib.sha256()
    for path in (lock, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    stamp = VENV / f".installed-{'dev' if dev else 'run'}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    if not PYTHON.exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say(f"installing dependencies from {lock.name} (first run takes a minute)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", "-r", str(lock)])
    run([*pip, "install", "--no-deps", "-e", str(ROOT)])
    for other in VENV.glob(".installed-*"):
        other.unlink()
    stamp.write_text(digest.hexdigest())


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser test when we can (root + apt-get)."""
    if find_chromium():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing Debian's chromium for the web chat browser test")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
        run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
    else:
        say(
            "no Chromium found: install it (e.g. 'sudo apt-get install chromium') for the browser test"
        )


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print("usage: python3 dev.py serve [bts-bot serve options] | test [pytest options]")
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "serve":
        ensure_venv(dev=False)
        return subprocess.call([str(BIN / "bts-bot"), "serve", *rest])
    ensure_venv(dev=True)
    ensure_chromium()
    code = subprocess.call([str(PYTHON), "-m", "pytest", *rest])
    if code == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
