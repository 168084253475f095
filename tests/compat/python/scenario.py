"""Compatibility scenario: the official Python management SDK, unchanged, against a fresh Headwater
server. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then `N passed, M failed`.

Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD (HEADWATER_DEV_* are accepted but unused).
The SDK never raises on HTTP errors, so every step checks `status_code` itself. See ../WIRE-NOTES.md.
"""
import os
import sys
from urllib.parse import urlsplit

import contentstack_management


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        print(f"missing env {name}", file=sys.stderr)
        sys.exit(2)
    return value


BASE = urlsplit(env("HEADWATER_URL", "http://127.0.0.1:8080"))
EMAIL = env("HEADWATER_EMAIL")
PASSWORD = env("HEADWATER_PASSWORD")


def new_client(**kwargs):
    # host + scheme build "<scheme><host>/v3/"; the default timeout (2 s) is raised for slow CI.
    return contentstack_management.Client(host=BASE.netloc, scheme=f"{BASE.scheme}://", timeout=15, **kwargs)


class StepFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise StepFailed(what)


def need(value, what):
    if value is None:
        raise StepFailed(f"skipped: no {what} (an earlier step failed)")
    return value


def body(response):
    try:
        return response.json()
    except ValueError:
        return {}


def describe(response):
    b = body(response)
    return (f"HTTP {response.status_code} error_code={b.get('error_code')} "
            f"{b.get('error_message')!r}" if b else f"HTTP {response.status_code} {response.text[:200]!r}")


def ok(response, what):
    check(200 <= response.status_code < 300, f"{what}: {describe(response)}")
    return body(response)


def refused(response, statuses, message=None):
    check(response.status_code in statuses, f"expected HTTP {' or '.join(map(str, statuses))}, got {describe(response)}")
    if message:
        text = body(response).get("error_message") or ""
        check(message in text.lower(), f"error_message should mention {message!r}, got {describe(response)}")


passed = failed = 0


def step(name):
    def run(fn):
        global passed, failed
        try:
            fn()
            passed += 1
            print(f"PASS {name}", flush=True)
        except Exception as e:  # a failed step must not stop the scenario
            failed += 1
            reason = " ".join(str(e).split()) or type(e).__name__
            print(f"FAIL {name}: {reason}", flush=True)
        return fn
    return run


def token_body(name, write):
    return {"token": {"name": name, "description": "compat suite",
                      "scope": [{"module": "$all", "acl": {"read": True, "write": write}}],
                      "expires_on": None, "is_email_notification_enabled": False}}


state = {}
owner = new_client()


@step("login as owner")
def _():
    res = ok(owner.login(EMAIL, PASSWORD), "login")
    state["org_uid"] = ((res.get("user") or {}).get("organizations") or [{}])[0].get("uid")
    check(owner.client.headers.get("authtoken"), "the SDK kept no authtoken (login must answer 200 with user.authtoken)")
    check(state["org_uid"], "login response has no user.organizations[0].uid")


@step("create stack")
def _():
    stack = owner.stack()
    # The SDK's create() never sends organization_uid (its bug); add_header is its public way to set one.
    stack.add_header("organization_uid", need(state.get("org_uid"), "organization uid"))
    res = ok(stack.create(state["org_uid"], {"stack": {"name": "Compat Python", "description": "tests/compat",
                                                       "master_locale": "en-us"}}), "create stack")
    state["api_key"] = (res.get("stack") or {}).get("api_key")
    check(state["api_key"], f"response has no stack.api_key: {res}")


@step("fetch stack")
def _():
    res = ok(owner.stack(need(state.get("api_key"), "stack api_key")).fetch(), "fetch stack")
    check(res.get("stack", {}).get("name") == "Compat Python", f"stack name is {res.get('stack', {}).get('name')}")


@step("create read-write management token")
def _():
    res = ok(owner.stack(need(state.get("api_key"), "stack api_key")).management_token()
             .create(token_body("py rw", True)), "create token")
    token = res.get("token") or {}
    check(str(token.get("token", "")).startswith("hwmt_"), f"token.token is {token.get('token')!r}")
    state["rw"] = token


@step("fetch management token without secret")
def _():
    rw_uid = need(state.get("rw"), "rw token")["uid"]
    res = ok(owner.stack(state["api_key"]).management_token(rw_uid).fetch(), "fetch token")
    check(res.get("token", {}).get("uid") == rw_uid, f"fetched token is {res.get('token')}")
    check("token" not in res["token"], "fetched token carries the secret")


@step("create read-only management token")
def _():
    res = ok(owner.stack(need(state.get("api_key"), "stack api_key")).management_token()
             .create(token_body("py ro", False)), "create token")
    state["ro"] = res.get("token") or {}
    check(str(state["ro"].get("token", "")).startswith("hwmt_"), f"token.token is {state['ro'].get('token')!r}")


def token_stack(which):
    # A token-only client: the SDK sends the management token as the raw `authorization` header.
    secret = need(state.get(which), f"{which} token")["token"]
    return new_client(management_token=secret).stack(need(state.get("api_key"), "stack api_key"))


@step("rw token: list environments")
def _():
    res = ok(token_stack("rw").environments().find(), "list environments")
    check(isinstance(res.get("environments"), list), f"response has no environments list: {res}")


@step("read-only token: creating an environment is refused (403)")
def _():
    refused(token_stack("ro").environments().create(
        {"environment": {"name": "forbidden", "urls": [{"locale": "en-us", "url": "https://x.example.com"}]}}), [403])


@step("rw token: listing management tokens is refused")
def _():
    refused(token_stack("rw").management_token().find(), [403, 401], "management token")


@step("rw token: creating a management token is refused")
def _():
    refused(token_stack("rw").management_token().create(token_body("py nested", True)), [403, 401], "management token")


print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
