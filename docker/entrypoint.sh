#!/bin/sh
# The container's start command (Dockerfile ENTRYPOINT; tests/ops/test_container.py runs this file
# too): without arguments, or with "serve ...", apply the database migrations and then replace this
# shell with the server, so SIGTERM from `docker stop` reaches it and it shuts down cleanly. Any other
# arguments are a bts-bot command: `docker compose run --rm bot arshjul list --tenant local`.
set -eu
if [ "$#" -eq 0 ] || [ "$1" = "serve" ]; then
    [ "$#" -gt 0 ] && shift
    bts-bot db upgrade
    exec bts-bot serve "$@"
fi
exec bts-bot "$@"
