"""End to end with a standard OAuth client (authlib) configured only from the RFC 8414
discovery document, and RFC 9068 validation of the access token with PyJWT — libraries the
service itself does not use. Run by scripts/test against `cargo lambda watch`:

    E2E_BASE_URL=http://127.0.0.1:PORT python tests/oauth-client/oauth_client.py

Exchange → validate → refresh (twice at once, as two tabs) → introspect → revoke → introspect.
Exits non-zero, with the step that failed, on any deviation.
"""

import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

BASE = os.environ["E2E_BASE_URL"].rstrip("/")
AUDIENCE = os.environ.get("AUDIENCE", "dev-members-api")
INTROSPECTION_KEY = os.environ.get(
    "E2E_INTROSPECTION_KEY", "ik_dev-only-introspection-key-for-local-development-never-deploy"
)
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SESSION_TOKEN_TYPE = "urn:x-member-auth:token-type:session"
CLIENT_ID = "e2e-spa"


def step(name):
    print(f"  - {name}", flush=True)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    step("discovery (RFC 8414)")
    meta = requests.get(f"{BASE}/.well-known/oauth-authorization-server", timeout=30).json()
    check(meta["issuer"] == BASE, f"issuer {meta['issuer']!r} is the base URL")
    for field in ["token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri"]:
        check(meta[field].startswith(BASE + "/"), f"{field} is absolute under the issuer")
    check(EXCHANGE in meta["grant_types_supported"], "token exchange is a supported grant")
    check("refresh_token" in meta["grant_types_supported"], "refresh is a supported grant")

    step("a member (register) and its sessionToken")
    email = f"oauth-{secrets.token_hex(6)}@example.com"
    r = requests.post(
        f"{BASE}/v2/register",
        json={"loginId": {"email": email}, "password": "a long and unusual passphrase 7"},
        timeout=30,
    )
    check(r.status_code == 200, f"register: {r.status_code} {r.text}")
    session_token = r.json()["sessionToken"]

    client = OAuth2Session(CLIENT_ID, token_endpoint_auth_method="none")
    step("token exchange (RFC 8693) through authlib")
    token = client.fetch_token(
        meta["token_endpoint"],
        grant_type=EXCHANGE,
        subject_token=session_token,
        subject_token_type=SESSION_TOKEN_TYPE,
    )
    check(token["token_type"] == "Bearer", "token_type Bearer")

    step("RFC 9068 validation of the access token with PyJWT, keys from jwks_uri")
    access = token["access_token"]
    header = jwt.get_unverified_header(access)
    check(header.get("typ") == "at+jwt", f"typ at+jwt, not {header.get('typ')!r}")
    check(header.get("alg") == "EdDSA", "alg EdDSA")
    key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(access)
    claims = jwt.decode(
        access,
        key.key,
        algorithms=["EdDSA"],
        audience=AUDIENCE,
        issuer=meta["issuer"],
        options={"require": ["iss", "aud", "exp", "iat", "jti", "sub", "client_id"]},
    )
    check(claims["client_id"] == CLIENT_ID, f"client_id {claims['client_id']!r}")
    check(claims["exp"] > time.time() > claims["iat"] - 5, "exp in the future, iat now")

    step("two tabs refresh with one token at once: both succeed with one refresh token")
    old_refresh = token["refresh_token"]

    def refresh_once(_):
        tab = OAuth2Session(CLIENT_ID, token_endpoint_auth_method="none")
        return tab.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)

    with ThreadPoolExecutor(max_workers=2) as pool:
        refreshed = list(pool.map(refresh_once, range(2)))
    check(
        len({t["refresh_token"] for t in refreshed}) == 1,
        "racing refreshes end with one live refresh token",
    )
    token = client.refresh_token(meta["token_endpoint"], refresh_token=refreshed[0]["refresh_token"])
    check(token["refresh_token"] != refreshed[0]["refresh_token"], "refresh rotates")
    access = token["access_token"]

    def introspect(tok):
        r = requests.post(
            meta["introspection_endpoint"],
            data={"token": tok},
            headers={"Authorization": f"Bearer {INTROSPECTION_KEY}"},
            timeout=30,
        )
        check(r.status_code == 200, f"introspect: {r.status_code} {r.text}")
        return r.json()

    step("introspection (RFC 7662): active")
    answer = introspect(access)
    check(answer.get("active") is True, f"active: {answer}")
    check(answer["client_id"] == CLIENT_ID and answer["sub"] == claims["sub"], f"claims: {answer}")
    r = requests.post(meta["introspection_endpoint"], data={"token": access}, timeout=30)
    check(r.status_code == 401, "introspection without a key is 401")

    step("revocation (RFC 7009) through authlib, then introspection: inactive")
    r = client.revoke_token(
        meta["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token"
    )
    check(r.status_code == 200, f"revoke: {r.status_code} {r.text}")
    check(introspect(access) == {"active": False}, "inactive after revocation")
    try:
        client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
        check(False, "a revoked family still refreshes")
    except OAuthError as e:
        check(e.error == "invalid_grant", f"invalid_grant, not {e.error}")
    print("oauth client end to end: ok")


if __name__ == "__main__":
    main()
