"""schemathesis hooks for the contract run (tests/contract/README.md).

- A member's credential for the operations that need one (memberBearer): each test case gets
  the sessionToken of a fresh member made through POST /v2/sign-on with the sign-on key, so
  change password, the session list and logout are reached with a live session. In the
  stateful phase the spec's links supply the credential (a sessionToken or an access token
  from the previous step's response), and it is used as the link set it.
- The local emulator's own answers are not the functions' (filter_failure below): `cargo lambda
  watch` answers a method its router does not know (TRACE) with its own 404 "Default function
  disabled", and a request whose body is not UTF-8 with its own 500 problem document
  (`https://httpstatuses.com/500`) before any function runs. On API Gateway such a body reaches
  the function base64-encoded (`isBase64Encoded`), which every function reads, and an unrouted
  method never reaches a function. Only failures on those exact emulator bodies are dropped;
  every other failure, on any response a function produced, fails the run.
"""

import datetime
import json
import os
import secrets

import requests
import schemathesis

BASE_URL = os.environ["CONTRACT_BASE_URL"]
SIGN_ON_KEY = os.environ["CONTRACT_SIGN_ON_KEY"]

MEMBER_OPERATIONS = ["changePassword", "listSessions", "revokeSessions", "logout", "logoutPage"]


def _phase(case):
    name = case.meta.phase.name if case.meta is not None else ""
    return getattr(name, "value", name)


@schemathesis.auth(refresh_interval=None).apply_to(operation_id=MEMBER_OPERATIONS)
class MemberSession:
    """A fresh member's sessionToken, from sign-on (no password, so no argon2 work)."""

    def get(self, case, ctx):
        linked = (case.headers or {}).get("Authorization", "")
        if _phase(case) == "stateful" and linked.startswith("Bearer "):
            return linked[len("Bearer ") :]  # the link's credential, used as it is
        email = f"contract-{secrets.token_hex(8)}@example.com"
        r = requests.post(
            f"{BASE_URL}/v2/sign-on",
            json={"loginId": {"email": email}},
            headers={"Authorization": f"Bearer {SIGN_ON_KEY}"},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()["sessionToken"]

    def set(self, case, data, ctx):
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {data}"
        # One credential per request: a generated session cookie beside it proves nothing.
        if case.cookies:
            case.cookies = {k: v for k, v in case.cookies.items() if k != "__Host-session"}


@schemathesis.hook
def before_call(context, case, **kwargs):
    """A link-supplied member credential is the run's own auth, not a generated value.

    In the stateful phase a link puts the previous step's sessionToken or access token into
    `Authorization` (openapi.yaml `links`). schemathesis counts a credential it did not set
    through an auth provider as generated, "likely invalid", and fails a 200 answered to it
    (ST401), although the credential is live. Marked as explicit, the credential gets the
    check's real probes instead: the same request without it, and with an invalid one, must
    each be refused. A case whose security is deliberately negated is left as generated.
    """
    linked = (case.headers or {}).get("Authorization", "")
    if (
        _phase(case) == "stateful"
        and case.operation.definition.raw.get("operationId") in MEMBER_OPERATIONS
        and linked.startswith("Bearer ")
        and not case.operation.schema.is_security_param_negated(case)
    ):
        case._has_explicit_auth = True


PROFILE_OPERATIONS = ["registerV2", "signOn"]


@schemathesis.hook("map_body").apply_to(operation_id=PROFILE_OPERATIONS)
def profiles_as_the_schema_cannot_say(context, body):
    """Three rules of a profile that JSON Schema cannot state: a birthdate not in the future
    (relative to today), customFields names unique among the member's fields (uniqueItems
    compares whole items), and a value of at most 1024 bytes of JSON (openapi.yaml says each
    in words). Generated bodies are made to keep them; every
    other property of the body is left as generated, valid or not.
    """
    profile = body.get("profile") if isinstance(body, dict) else None
    birthdate = profile.get("birthdate") if isinstance(profile, dict) else None
    if isinstance(birthdate, str):
        try:
            if datetime.date.fromisoformat(birthdate) > datetime.date.today():
                profile["birthdate"] = "2000-02-29"
        except ValueError:
            pass
    fields = profile.get("customFields") if isinstance(profile, dict) else None
    if not isinstance(fields, list):
        return body
    seen = set()
    for i, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        name = field.get("name")
        if isinstance(name, str):
            n = 0
            while name in seen:
                n += 1
                name = f"{field['name'][:90]}#{i}.{n}"
            field["name"] = name
            seen.add(name)
        if "value" in field and field["value"] is not None:
            encoded = json.dumps(field["value"], separators=(",", ":"), ensure_ascii=False)
            if len(encoded.encode("utf-8")) > 1000:
                field["value"] = True
    return body


# The emulator's own bodies (cargo lambda watch), never a function's: see the docstring.
EMULATOR_BODIES = (
    '"title":"Default function disabled"',
    '{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}',
)


# The rules of a body a schema cannot state: two customFields with one name, and the password
# policy's judgement of a password (common or guessable, or built from the email or names),
# which openapi.yaml describes in words. The coverage phase, which map_body does not reach,
# sends such bodies (a minLength password of one repeated character, say).
UNSTATABLE_RULES = {"DUPLICATE_NAME", "TOO_COMMON", "TOO_SIMILAR"}


def _only_unstatable_rules(response):
    """A 400 whose every violation is one of UNSTATABLE_RULES."""
    try:
        violations = response.json()["details"]["validationError"]["fieldViolations"]
    except (ValueError, KeyError, TypeError):
        return False
    return response.status_code == 400 and bool(violations) and all(
        v.get("violatedRule") in UNSTATABLE_RULES for v in violations
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    text = response.content.decode("utf-8", "replace") if response.content else ""
    if any(marker in text for marker in EMULATOR_BODIES):
        return False
    return not _only_unstatable_rules(response)
