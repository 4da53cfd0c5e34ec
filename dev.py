#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11+: ``python3 dev.py serve`` and ``python3 dev.py test``.

It creates ``.venv`` in the repository, installs the pinned dependencies (``requirements*.lock``) and
the project, and then runs the bot or the whole test suite. ``test`` also makes sure a Chromium for the
web chat test exists (Debian's ``chromium`` via apt-get when run as root) and fetches Microsoft's
Adaptive Cards renderer for the Teams card test (npm registry, pinned by sha512, into ``.cache/``).
Reinstalls only when a lock file or pyproject.toml changed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
CACHE = ROOT / ".cache"
RENDERER_PIN = ROOT / "tests" / "support" / "adaptivecards.json"


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


def ensure_adaptivecards() -> None:
    """Microsoft's Adaptive Cards renderer for the Teams card test: the npm package's bundle, taken
    from the registry once and used only when its sha512 is the pinned one."""
    pin = json.loads(RENDERER_PIN.read_text(encoding="utf-8"))
    target = CACHE / f"adaptivecards-{pin['version']}.min.js"
    if target.exists():
        return
    say(f"fetching the Adaptive Cards renderer {pin['version']} for the Teams card test")
    try:
        with urllib.request.urlopen(pin["url"], timeout=120) as response:
            data = response.read()
    except OSError as exc:
        say(f"could not fetch {pin['url']} ({exc}): the Teams card test will say so")
        return
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != pin["sha512"]:
        say(f"{pin['url']} does not match its pinned sha512: not used")
        return
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.extractfile(pin["member"])
        if member is None:
            say(f"{pin['member']} is missing from {pin['url']}")
            return
        CACHE.mkdir(exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(member.read())
        partial.replace(target)


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
    ensure_adaptivecards()
    code = subprocess.call([str(PYTHON), "-m", "pytest", *rest])
    if code == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
