#!/usr/bin/env python3
"""Helpers of roundtrip.sh, standard library only: talk to Headwater over HTTPS (trusting its
self-signed certificate), set up two stacks, seed the source one, compare the two.

    hw.py setup   BASE CAFILE EMAIL PASSWORD    -> prints shell assignments (stacks, tokens)
    hw.py seed    BASE CAFILE API_KEY TOKEN     -> content types, global field, entries, asset
    hw.py compare BASE CAFILE KEY_A TOKEN_A KEY_B TOKEN_B   -> PASS/FAIL per check; exit 1 on FAIL
"""

import hashlib
import json
import shlex
import ssl
import sys
import urllib.error
import urllib.request
import uuid


class Api:
    def __init__(self, base, cafile, headers=None):
        self.base = base.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.headers = dict(headers or {})

    def call(self, method, path, body=None, raw=None, content_type=None, ok=(200, 201)):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.ctx) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        if status not in ok:
            raise SystemExit(f"{method} {path}: {status} {text[:500]!r}")
        return json.loads(text) if text else {}

    def fetch_bytes(self, url):
        with urllib.request.urlopen(url, context=self.ctx) as r:
            return r.read()


def setup(base, cafile, email, password):
    anon = Api(base, cafile)
    login = anon.call("POST", "/v3/user-session", {"user": {"email": email, "password": password}})
    user = Api(base, cafile, {"authtoken": login["user"]["authtoken"]})
    out = {}
    for label, name in (("SOURCE", "Round trip source"), ("TARGET", "Round trip target")):
        stack = user.call("POST", "/v3/stacks", {"stack": {"name": name, "master_locale": "en-us"}})
        key = stack["stack"]["api_key"]
        scoped = Api(base, cafile, {"authtoken": login["user"]["authtoken"], "api_key": key})
        token = scoped.call("POST", "/v3/stacks/management_tokens", {"token": {
            "name": "csdx", "description": "CLI round trip",
            "scope": [{"module": "$all", "acl": {"read": True, "write": True}}],
            "expires_on": None}})
        out[f"{label}_API_KEY"] = key
        out[f"{label}_TOKEN"] = token["token"]["token"]
    for k, v in out.items():
        print(f"{k}={shlex.quote(v)}")


def token_api(base, cafile, key, token):
    return Api(base, cafile, {"api_key": key, "authorization": token})


def multipart(fields, file_field, filename, mime, content):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: {mime}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# A 1x1 PNG, so the asset is a real image file.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005fe02fea7d6a4c50000000049454e44ae426082")


def seed(base, cafile, key, token):
    api = token_api(base, cafile, key, token)
    api.call("POST", "/v3/environments", {"environment": {
        "name": "production", "urls": [{"locale": "en-us", "url": "https://example.com"}]}})
    api.call("POST", "/v3/locales", {"locale": {"code": "fr-fr", "name": "French - France",
                                                 "fallback_locale": "en-us"}})
    body, ctype = multipart({"asset[title]": "Logo", "asset[description]": "the logo",
                             "asset[tags]": "brand"}, "asset[upload]", "logo.png", "image/png", PNG)
    asset = api.call("POST", "/v3/assets", raw=body, content_type=ctype)["asset"]
    api.call("POST", "/v3/global_fields", {"global_field": {"title": "SEO", "uid": "seo", "schema": [
        {"uid": "keywords", "display_name": "Keywords", "data_type": "text"},
        {"uid": "description", "display_name": "Description", "data_type": "text",
         "field_metadata": {"multiline": True}}]}})
    api.call("POST", "/v3/content_types", {"content_type": {"title": "Author", "uid": "author", "schema": [
        {"uid": "title", "display_name": "Name", "data_type": "text", "mandatory": True, "unique": True},
        {"uid": "bio", "display_name": "Bio", "data_type": "text"},
        {"uid": "photo", "display_name": "Photo", "data_type": "file"}]}})
    api.call("POST", "/v3/content_types", {"content_type": {"title": "Blog post", "uid": "blog_post", "schema": [
        {"uid": "title", "display_name": "Title", "data_type": "text", "mandatory": True, "unique": True},
        {"uid": "url", "display_name": "URL", "data_type": "text"},
        {"uid": "body", "display_name": "Body", "data_type": "text", "field_metadata": {"multiline": True}},
        {"uid": "rating", "display_name": "Rating", "data_type": "number"},
        {"uid": "featured", "display_name": "Featured", "data_type": "boolean"},
        {"uid": "published_on", "display_name": "Published on", "data_type": "isodate"},
        {"uid": "tags_list", "display_name": "Tags", "data_type": "text", "multiple": True},
        {"uid": "author", "display_name": "Author", "data_type": "reference", "reference_to": ["author"],
         "field_metadata": {"ref_multiple": False, "ref_multiple_content_types": True}},
        # Saved without field_metadata, as API clients do: Headwater fills Contentstack's
        # defaults, which csdx's import reads.
        {"uid": "reviewers", "display_name": "Reviewers", "data_type": "reference",
         "reference_to": ["author"], "multiple": True},
        {"uid": "details", "display_name": "Details", "data_type": "group", "schema": [
            {"uid": "subtitle", "display_name": "Subtitle", "data_type": "text"}]},
        {"uid": "seo", "display_name": "SEO", "data_type": "global_field", "reference_to": "seo"}]}})
    ada = api.call("POST", "/v3/content_types/author/entries", {"entry": {
        "title": "Ada Lovelace", "bio": "Wrote the first program.", "photo": asset["uid"]}})["entry"]
    grace = api.call("POST", "/v3/content_types/author/entries", {"entry": {
        "title": "Grace Hopper", "bio": "Wrote the first compiler."}})["entry"]
    posts = [
        ("Notes on the Analytical Engine", ada, 9, True, ["history", "computing"]),
        ("On compilers", grace, 8, False, ["compilers"]),
        ("A third post", ada, 5, False, []),
    ]
    created = []
    for i, (title, author, rating, featured, tags) in enumerate(posts):
        created.append(api.call("POST", "/v3/content_types/blog_post/entries", {"entry": {
            "title": title, "url": f"/blog/{i + 1}", "body": f"Body of {title}.", "rating": rating,
            "featured": featured, "published_on": f"2026-0{i + 1}-15", "tags_list": tags,
            "author": [{"uid": author["uid"], "_content_type_uid": "author"}],
            "details": {"subtitle": f"Part {i + 1}"},
            "seo": {"keywords": "engine, history", "description": f"About {title}"},
            **({"reviewers": [{"uid": grace["uid"], "_content_type_uid": "author"}]} if i == 0 else {})}})["entry"])
    # Published content: one post (and the author it references) and the asset.
    target = {"environments": ["production"], "locales": ["en-us"]}
    api.call("POST", f"/v3/content_types/blog_post/entries/{created[0]['uid']}/publish", {"entry": target})
    api.call("POST", f"/v3/content_types/author/entries/{ada['uid']}/publish", {"entry": target})
    api.call("POST", f"/v3/assets/{asset['uid']}/publish", {"asset": target})
    # Modules beside the content: a label, a workflow, a webhook (disabled, aimed at 127.0.0.1).
    api.call("POST", "/v3/labels", {"label": {"name": "Featured", "parent": [], "content_types": ["blog_post"]}})
    api.call("POST", "/v3/workflows", {"workflow": {"name": "Editorial", "content_types": ["blog_post"],
                                                    "branches": ["main"], "workflow_stages": [
        {"name": "Draft", "color": "#777777"}, {"name": "Review", "color": "#2196f3"}]}})
    api.call("POST", "/v3/webhooks", {"webhook": {"name": "Rebuild", "disabled": True,
        "destinations": [{"target_url": "http://127.0.0.1:9/hook"}],
        "channels": ["content_types.entries.publish"], "branches": ["main"]}})
    print(f"seeded: 1 environment, 1 extra locale, 1 asset, 1 global field, 2 content types, "
          f"2 authors, {len(posts)} blog posts; 1 post, its author and the asset published")


SYSTEM_KEYS = {"uid", "created_at", "updated_at", "created_by", "updated_by", "_version",
               "ACL", "_in_progress", "publish_details", "locale", "_metadata", "tags",
               "_content_type_uid", "_branch", "_workflow"}


def listing(api, path, key):
    items, skip = [], 0
    while True:
        sep = "&" if "?" in path else "?"
        page = api.call("GET", f"{path}{sep}skip={skip}&limit=100&include_count=true")
        items.extend(page[key])
        skip += len(page[key])
        if not page[key] or skip >= page.get("count", 0):
            return items


def normalize_schema(schema):
    keep = ("uid", "display_name", "data_type", "mandatory", "unique", "multiple", "reference_to",
            "field_metadata")
    out = []
    for f in schema or []:
        g = {k: f.get(k) for k in keep if f.get(k) not in (None, False, {}, [])}
        if isinstance(g.get("reference_to"), str):
            g["reference_to"] = [g["reference_to"]]
        # A global field's own schema is compared once, as the global field: csdx's import
        # sends a copy of it inside the content type, which Headwater keeps as sent.
        if f.get("schema") and f.get("data_type") != "global_field":
            g["schema"] = normalize_schema(f["schema"])
        out.append(g)
    return out


def compare(base, cafile, key_a, token_a, key_b, token_b):
    a, b = token_api(base, cafile, key_a, token_a), token_api(base, cafile, key_b, token_b)
    failures = 0

    def check(name, left, right):
        nonlocal failures
        if left == right:
            print(f"PASS {name}")
        else:
            failures += 1
            print(f"FAIL {name}\n  source: {json.dumps(left, sort_keys=True)[:2000]}\n"
                  f"  target: {json.dumps(right, sort_keys=True)[:2000]}")

    def by_uid(items):
        return {i["uid"]: i for i in items}

    def env_names(api):
        return {e["uid"]: e["name"] for e in api.call("GET", "/v3/environments")["environments"]}

    def published(item, names):
        return sorted({(names.get(p.get("environment"), "?"), p.get("locale"))
                       for p in item.get("publish_details") or []})

    # Content types and global fields: same uids, titles and schemas.
    for path, key in (("/v3/content_types", "content_types"), ("/v3/global_fields", "global_fields")):
        sa, sb = by_uid(listing(a, path, key)), by_uid(listing(b, path, key))
        check(f"{key}: the same uids", sorted(sa), sorted(sb))
        for uid in sorted(set(sa) & set(sb)):
            check(f"{key}: {uid} title and schema",
                  (sa[uid]["title"], normalize_schema(sa[uid]["schema"])),
                  (sb[uid]["title"], normalize_schema(sb[uid]["schema"])))

    # Assets: same files (by name, title, type, size, content hash).
    def assets(api):
        out = {}
        names = env_names(api)
        for x in listing(api, "/v3/assets?include_publish_details=true", "assets"):
            if x.get("is_dir"):
                continue
            data = api.fetch_bytes(x["url"])
            out[x["filename"]] = {"title": x.get("title"), "content_type": x.get("content_type"),
                                  "file_size": int(x.get("file_size", 0)),
                                  "sha256": hashlib.sha256(data).hexdigest(),
                                  "description": x.get("description"),
                                  "published_to": published(x, names)}
        return out
    assets_a, assets_b = assets(a), assets(b)
    check("assets: the same files, titles, types, sizes, bytes and publications", assets_a, assets_b)
    uid_to_file = {}
    for api in (a, b):
        for x in listing(api, "/v3/assets", "assets"):
            uid_to_file[x["uid"]] = x.get("filename")

    # Entries: per content type, the same entries (matched by title) with the same fields;
    # references and files compared by what they point at, since uids differ between stacks.
    def entries(api, ct_uids):
        names = env_names(api)
        titles = {}
        raw = {}
        for ct in ct_uids:
            raw[ct] = listing(api, f"/v3/content_types/{ct}/entries?include_publish_details=true", "entries")
            for e in raw[ct]:
                titles[e["uid"]] = e["title"]

        def resolve(v):
            if isinstance(v, list):
                return [resolve(x) for x in v]
            if isinstance(v, dict):
                if "_content_type_uid" in v and "uid" in v:
                    return {"ref": v["_content_type_uid"], "title": titles.get(v["uid"], "?" + v["uid"])}
                return {k: resolve(x) for k, x in v.items()}
            if isinstance(v, str) and v in uid_to_file:
                return {"asset": uid_to_file[v]}
            return v

        out = {}
        for ct, items in raw.items():
            out[ct] = {e["title"]: dict({k: resolve(v) for k, v in e.items() if k not in SYSTEM_KEYS},
                                        published_to=published(e, names))
                       for e in items}
        return out
    cts = sorted(by_uid(listing(a, "/v3/content_types", "content_types")))
    ea, eb = entries(a, cts), entries(b, cts)
    # The comparison is not vacuous: the source holds what seed() made and published.
    check("source: 2 authors, 3 posts, 1 asset; 2 entries and the asset published",
          (len(ea.get("author", {})), len(ea.get("blog_post", {})), len(assets_a),
           sum(1 for ct in ea.values() for e in ct.values() if e["published_to"]),
           sum(1 for x in assets_a.values() if x["published_to"])),
          (2, 3, 1, 2, 1))
    for ct in cts:
        check(f"entries of {ct}: the same titles", sorted(ea[ct]), sorted(eb.get(ct, {})))
        for title in sorted(set(ea[ct]) & set(eb.get(ct, {}))):
            check(f"entries of {ct}: '{title}' fields", ea[ct][title], eb[ct][title])

    # Labels, workflows (with their stages) and webhooks come along.
    check("labels: the same", sorted(x["name"] for x in a.call("GET", "/v3/labels")["labels"]),
          sorted(x["name"] for x in b.call("GET", "/v3/labels")["labels"]))
    stages = lambda api: sorted((w["name"], tuple(st["name"] for st in w["workflow_stages"]))
                                for w in api.call("GET", "/v3/workflows")["workflows"])
    check("workflows: the same names and stages", stages(a), stages(b))
    check("webhooks: the same", sorted(x["name"] for x in a.call("GET", "/v3/webhooks")["webhooks"]),
          sorted(x["name"] for x in b.call("GET", "/v3/webhooks")["webhooks"]))

    # Environments and locales come along too.
    for path, key, field in (("/v3/environments", "environments", "name"), ("/v3/locales", "locales", "code")):
        check(f"{key}: the same", sorted(x[field] for x in a.call("GET", path)[key]),
              sorted(x[field] for x in b.call("GET", path)[key]))

    print(f"{'PASS' if failures == 0 else 'FAIL'}: {failures} failed check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        setup(*args)
    elif cmd == "seed":
        seed(*args)
    elif cmd == "compare":
        sys.exit(compare(*args))
    else:
        raise SystemExit(__doc__)
