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


# The emulator's own bodies (cargo lambda watch), never a function's: see the docstring.
EMULATOR_BODIES = (
    '"title":"Default function disabled"',
    '{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}',
)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    text = response.content.decode("utf-8", "replace") if response.content else ""
    return not any(marker in text for marker in EMULATOR_BODIES)
