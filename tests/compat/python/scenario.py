"""Compatibility scenario: the official Python management SDK, unchanged, against a fresh Headwater
server. One line per step (`PASS <step>` / `FAIL <step>: <reason>`), then `N passed, M failed`.

Env: HEADWATER_URL, HEADWATER_EMAIL, HEADWATER_PASSWORD (HEADWATER_DEV_* are accepted but unused).
The SDK never raises on HTTP errors, so every step checks `status_code` itself. See ../WIRE-NOTES.md.
"""
import json
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
    state["owner_uid"] = (res.get("user") or {}).get("uid")
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


# --- Content: content type, entry, query, publish ------------------------------------------------
@step("owner: create environment development")
def _():
    res = ok(owner.stack(need(state.get("api_key"), "stack api_key")).environments().create(
        {"environment": {"name": "development", "urls": [{"locale": "en-us", "url": "http://localhost:3000"}]}}),
        "create environment")
    check((res.get("environment") or {}).get("name") == "development", f"response: {res}")


ARTICLE_SCHEMA = [
    {"display_name": "Title", "uid": "title", "data_type": "text", "mandatory": True, "unique": True,
     "multiple": False, "field_metadata": {"_default": True}},
    {"display_name": "Rating", "uid": "rating", "data_type": "number", "mandatory": False, "unique": False,
     "multiple": False},
]


@step("rw token: create content type article")
def _():
    res = ok(token_stack("rw").content_types().create(
        {"content_type": {"title": "Article", "uid": "article", "schema": ARTICLE_SCHEMA}}), "create content type")
    ct = res.get("content_type") or {}
    check(ct.get("uid") == "article", f"response has no content_type.uid 'article': {res}")
    check([f.get("uid") for f in ct.get("schema") or []] == ["title", "rating"], f"schema is {ct.get('schema')}")


@step("rw token: fetch content type article")
def _():
    # fetch() adds include_global_field_schema=true&include_branch=false (content_type.py).
    res = ok(token_stack("rw").content_types("article").fetch(), "fetch content type")
    check((res.get("content_type") or {}).get("title") == "Article", f"response: {res}")


@step("rw token: create 2 entries")
def _():
    # entry().create(data, locale='en-us') sends ?locale=en-us (entries/entry.py).
    state["articles"] = []
    for title, rating in (("Low article", 1), ("High article", 4)):
        res = ok(token_stack("rw").content_types("article").entry().create({"entry": {"title": title, "rating": rating}}),
                 "create entry")
        e = res.get("entry") or {}
        check(e.get("uid") and e.get("title") == title and e.get("_version") == 1, f"response: {res}")
        state["articles"].append(e["uid"])


@step("rw token: fetch entry")
def _():
    uid = need((state.get("articles") or [None, None])[1], "entry uid")
    res = ok(token_stack("rw").content_types("article").entry(uid).fetch(), "fetch entry")
    e = res.get("entry") or {}
    check(e.get("uid") == uid and e.get("title") == "High article" and e.get("rating") == 4, f"response: {res}")
    check(e.get("locale") == "en-us", f"entry locale is {e.get('locale')}")


@step("rw token: query entries {rating: {$gte: 3}}")
def _():
    # The Python Entry has no query builder: find() sends the params set with add_param.
    q = token_stack("rw").content_types("article").entry()
    q.add_param("query", json.dumps({"rating": {"$gte": 3}}))
    q.add_param("include_count", "true")
    res = ok(q.find(), "query entries")
    titles = [e.get("title") for e in res.get("entries") or []]
    check(titles == ["High article"], f"entries are {titles}")
    check(res.get("count") == 1, f"count is {res.get('count')}")


@step("rw token: publish entry to development (en-us)")
def _():
    uid = need((state.get("articles") or [None, None])[1], "entry uid")
    entry = token_stack("rw").content_types("article").entry(uid)
    res = ok(entry.publish({"entry": {"environments": ["development"], "locales": ["en-us"]}, "locale": "en-us"}),
             "publish entry")
    check(isinstance(res.get("notice"), str), f"publish response has no notice: {res}")
    e = ok(token_stack("rw").content_types("article").entry(uid).fetch(), "fetch entry").get("entry") or {}
    pd = e.get("publish_details")
    check(isinstance(pd, list) and len(pd) == 1 and pd[0].get("locale") == "en-us", f"publish_details is {pd}")


@step("read-only token: publishing an entry is refused (403)")
def _():
    uid = need((state.get("articles") or [None, None])[0], "entry uid")
    refused(token_stack("ro").content_types("article").entry(uid).publish(
        {"entry": {"environments": ["development"], "locales": ["en-us"]}, "locale": "en-us"}), [403])


# --- Branches -------------------------------------------------------------------------------------
@step("rw token: creating a branch is refused (403)")
def _():
    refused(token_stack("rw").branch().create({"branch": {"uid": "py_rw", "source": "main"}}), [403], "management token")


@step("owner: create, fetch and delete branch py_dev")
def _():
    stack = owner.stack(need(state.get("api_key"), "stack api_key"))
    res = ok(stack.branch().create({"branch": {"uid": "py_dev", "source": "main"}}), "create branch")
    check((res.get("branch") or {}).get("uid") == "py_dev", f"response: {res}")
    res = ok(stack.branch("py_dev").fetch(), "fetch branch")
    check((res.get("branch") or {}).get("source") == "main", f"response: {res}")
    ok(stack.branch("py_dev").delete(), "delete branch")


# --- Workflow: a publish under a rule waits for the approver (MT-9) ---------------------------------
@step("owner: create workflow and a publish rule approved by the owner")
def _():
    stack = owner.stack(need(state.get("api_key"), "stack api_key"))
    res = ok(stack.workflows().create({"workflow": {
        "name": "Py editorial", "content_types": ["article"], "branches": ["main"],
        "workflow_stages": [{"uid": "draft", "name": "Draft"}, {"uid": "ready", "name": "Ready"}]}}), "create workflow")
    state["workflow_uid"] = (res.get("workflow") or {}).get("uid")
    res = ok(stack.workflows().create_publish_rule({"publishing_rule": {
        "workflow": state["workflow_uid"], "actions": ["publish"], "content_types": ["article"],
        "locales": ["en-us"], "environment": "development",
        "approvers": {"users": [need(state.get("owner_uid"), "owner uid")], "roles": []}}}), "create publish rule")
    state["rule_uid"] = (res.get("publishing_rule") or {}).get("uid")
    check(state["rule_uid"], f"response: {res}")


@step("rw token: a publish under the rule becomes a request (202)")
def _():
    uid = need((state.get("articles") or [None])[0], "entry uid")
    res = token_stack("rw").content_types("article").entry(uid).publish(
        {"entry": {"environments": ["development"], "locales": ["en-us"]}, "locale": "en-us"})
    check(res.status_code == 202, f"expected 202, got {describe(res)}")
    reqs = body(res).get("publish_requests") or []
    check(len(reqs) == 1 and reqs[0].get("status") == "pending", f"publish_requests: {reqs}")


def decision(status):
    return {"workflow": {"publishing_rule": {"uid": need(state.get("rule_uid"), "publish rule"),
                                             "action": "publish", "status": status, "comment": "py"}}}


@step("rw token: accepting the publish request is refused (403, MT-9)")
def _():
    uid = need((state.get("articles") or [None])[0], "entry uid")
    wf = token_stack("rw").workflows()
    wf.add_param("locale", "en-us")
    refused(wf.set_workflow_stage("article", uid, decision(1)), [403], "mt-9")


@step("owner (approver): accepts; the request shows as approved")
def _():
    uid = need((state.get("articles") or [None])[0], "entry uid")
    wf = owner.stack(state["api_key"]).workflows()
    wf.add_param("locale", "en-us")
    res = ok(wf.set_workflow_stage("article", uid, decision(1)), "accept")
    check("accepted" in (res.get("notice") or ""), f"response: {res}")
    res = ok(owner.stack(state["api_key"]).workflows().publish_request_approval("article", uid), "workflow details")
    reqs = (res.get("workflow") or {}).get("publish_requests") or []
    check(reqs and reqs[0].get("status") == "approved", f"publish_requests: {reqs}")


print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
