"""A fake Bot Framework token issuer: OpenID metadata and signing keys over real HTTP, and tokens.

pytest plugin: the ``openid_issuer`` fixture runs an aiohttp server on an ephemeral 127.0.0.1 port
in its own thread serving ``/v1/.well-known/openidconfiguration`` (whose ``jwks_uri`` points at
``/v1/keys``) and the JWKS with one RSA key made for the test, endorsed for ``msteams`` like the
real Bot Framework keys. Point ``TEAMS_OPENID_METADATA_URL`` at ``issuer.metadata_url`` and sign
tokens with ``issuer.token(...)``: RS256 with the key's ``kid``, the Bot Framework's issuer, the
app id as audience, ``serviceurl``, ``nbf`` and ``exp``; every claim and header can be changed to
make a token that must be refused. ``fetches`` lists the requests for metadata and keys; ``delay``
makes every answer wait (a slow key server).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.http_thread import serve_in_thread

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/keys"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str]) -> dict[str, Any]:
    """The public half of ``key`` as a JWKS entry, the way login.botframework.com lists it."""
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "kty": "RSA", "endorsements": endorsements})
    return jwk


@dataclass
class OpenIdIssuer:
    """The running fake; ``base_url`` is ``http://127.0.0.1:<port>``."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = field(default_factory=lambda: f"test-key-{uuid.uuid4().hex[:8]}")
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    #: further JWKS entries (e.g. a key endorsed for another channel only)
    extra_keys: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    fetches: list[str] = field(default_factory=list)
    #: seconds every answer waits (a slow or hung key server)
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def metadata_url(self) -> str:
        return self.base_url + METADATA_PATH

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.key, self.kid, self.endorsements), *self.extra_keys]}

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        lifetime: float = 3600,
        not_before: float = -300,
        **claims: Any,
    ) -> str:
        """A token as the Bot Framework signs it for ``app_id``; ``claims`` override or add
        claims (``None`` removes one). ``lifetime`` / ``not_before`` are seconds from now."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now + int(not_before),
            "exp": now + int(lifetime),
            "iat": now,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        headers = {"kid": self.kid if kid is None else kid, "typ": "JWT"}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers=headers)

    # server side ---------------------------------------------------------------------------------

    async def _wait(self) -> None:
        """Wait ``delay`` seconds, or less if the test lowers it meanwhile (no stray handlers)."""
        started = time.monotonic()
        for _ in range(round(self.delay / 0.05)):
            if time.monotonic() - started >= self.delay:
                break
            await asyncio.sleep(0.05)

    async def _metadata(self, request: web.Request) -> web.Response:
        with self._lock:
            self.fetches.append(request.path)
        await self._wait()
        return web.json_response(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "authorization_endpoint": "https://invalid.example/",
                "jwks_uri": self.base_url + KEYS_PATH,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        with self._lock:
            self.fetches.append(request.path)
        await self._wait()
        return web.json_response(self.jwks())

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(METADATA_PATH, self._metadata)
        app.router.add_get(KEYS_PATH, self._keys)
        return app


@pytest.fixture
def openid_issuer() -> Iterator[OpenIdIssuer]:
    """A fresh token issuer with its own key for one test."""
    issuer = OpenIdIssuer()
    with serve_in_thread("openid issuer", issuer.build_app) as base_url:
        issuer.base_url = base_url
        yield issuer
