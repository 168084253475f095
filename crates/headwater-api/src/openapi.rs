//! The API description served at `GET /v3/openapi.json` (OpenAPI 3.1), generated from the
//! route table [`OPERATIONS`] (in `routes/mod.rs`): one row per route and method, naming its
//! handler and describing it. `routes::router` is built from the same rows, so a route of the
//! table cannot be served without being described, nor described without being served.
//!
//! To add a route, add one `op(…)` row to `OPERATIONS` in `routes/mod.rs`: method, path, handler
//! (`h!(module::function)`), tag (the module), who may call it ([`Auth`]), its request body
//! ([`Body`]), its answer ([`Reply`]) and a summary; `.query(&[…])` names its query parameters
//! (each needs a line in [`query_parameter`]) and `.headers(&[…])` extra headers. Rows of one
//! path become one `.route(path, get(…).post(…))`. The delivery API's routes are registered by
//! `routes::cda::router` (also served alone on the delivery port); their rows are `nested(…)`:
//! described here, served by that nested router.
//!
//! `tests/it/openapi.rs` sends every operation to a live server (so a `nested` row the nested
//! router lacks fails) and compares the whole document with the checked-in `openapi.json`
//! (regenerate with `UPDATE_OPENAPI=1`, review the diff).

use crate::state::AppState;
use crate::wire::Described;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// Who may call an operation, which decides its security requirements and headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No credential.
    Public,
    /// A user's `authtoken`, no stack.
    User,
    /// A user's `authtoken` with the stack's `api_key` (management tokens are refused, MT-8).
    StackUser,
    /// The stack's `api_key` with an `authtoken` or a management token in `authorization`;
    /// `branch` optional.
    Stack,
    /// Delivery API: `api_key` with a delivery token in `access_token`.
    Delivery,
}

/// The request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    /// JSON `{"<key>": {…}}`.
    Json(&'static str),
    /// JSON with no wrapper object (e.g. `{"emails": […], "roles": {…}}`).
    JsonObject,
    /// `multipart/form-data` with `asset[upload]` and `asset[…]` fields.
    AssetUpload,
    /// Either `{"asset": {…}}` JSON or an `asset[upload]` multipart form.
    AssetJsonOrUpload,
    /// `multipart/form-data` with a `taxonomy` file (an exported taxonomy).
    TaxonomyUpload,
    /// `multipart/form-data` with one JSON file in the named part (imports).
    ImportFile(&'static str),
}

/// The success answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 200 `{"<key>": {…}}`.
    One(&'static str),
    /// 200 `{"<key>": […], "count": n}` (`count` with `include_count=true`).
    List(&'static str),
    /// 201 `{"notice": "…", "<key>": {…}}`.
    Created(&'static str),
    /// 200 `{"notice": "…", "<key>": {…}}`.
    Updated(&'static str),
    /// 200 `{"notice": "…"}`.
    Notice,
    /// 200 `{"status": "ok"}` (503 when the database is unreachable).
    Health,
    /// 200 this document.
    Document,
    /// 200 an object without a wrapper key (its members are named in the summary).
    Object,
    /// 200 the file's bytes.
    File,
    /// 204, no body.
    NoContent,
    /// 200 the object itself, unwrapped (exports).
    Raw,
    /// 200 an object with the named members (compare, merge, queue).
    Members(&'static [&'static str]),
    /// The object itself, no wrapper (teams: 200, or 201 when created).
    Bare(&'static str),
    /// 302 to the address in `Location` (browser sign-in).
    Redirect,
}

/// Registers a handler for one method: `h!(module::function)` in the route table.
pub type MakeRoute = fn(MethodFilter) -> MethodRouter<AppState>;

/// `h!(module::function)`: the [`MakeRoute`] of a handler, for a row of the route table.
macro_rules! h {
    ($handler:path) => {
        |method: ::axum::routing::MethodFilter| ::axum::routing::on(method, $handler)
    };
}
pub(crate) use h;

/// One row of the route table: a route and method, its handler and its description.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    /// The handler; `None` for a route a nested router serves (the delivery API).
    pub handler: Option<MakeRoute>,
    pub tag: &'static str,
    pub auth: Auth,
    pub body: Body,
    pub reply: Reply,
    pub summary: &'static str,
    pub query: &'static [&'static str],
    /// Headers beyond those of `auth` (e.g. `organization_uid`).
    pub headers: &'static [&'static str],
}

/// A row served by `handler`.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn op(
    method: &'static str,
    path: &'static str,
    handler: MakeRoute,
    tag: &'static str,
    auth: Auth,
    body: Body,
    reply: Reply,
    summary: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        handler: Some(handler),
        tag,
        auth,
        body,
        reply,
        summary,
        query: &[],
        headers: &[],
    }
}

/// A row served by a nested router (see [`Operation::handler`]).
pub(crate) const fn nested(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    auth: Auth,
    body: Body,
    reply: Reply,
    summary: &'static str,
) -> Operation {
    Operation {
        method,
        path,
        handler: None,
        tag,
        auth,
        body,
        reply,
        summary,
        query: &[],
        headers: &[],
    }
}

impl Operation {
    pub(crate) const fn query(mut self, names: &'static [&'static str]) -> Operation {
        self.query = names;
        self
    }
    pub(crate) const fn headers(mut self, names: &'static [&'static str]) -> Operation {
        self.headers = names;
        self
    }
}

pub(crate) const LIST: &[&str] = &["skip", "limit", "include_count"];
pub(crate) const COMPARE: &[&str] = &["base_branch", "compare_branch", "skip", "limit"];
pub(crate) const COMPARE_ONE: &[&str] = &["base_branch", "compare_branch", "include_schemas"];
pub(crate) const COUNTED: &[&str] = &["include_count"];
pub(crate) const ENTRY_LIST: &[&str] = &[
    "skip",
    "limit",
    "include_count",
    "count",
    "query",
    "asc",
    "desc",
    "locale",
    "only[BASE][]",
    "except[BASE][]",
    "include_publish_details",
];
pub(crate) const ASSET_LIST: &[&str] = &[
    "skip",
    "limit",
    "include_count",
    "count",
    "query",
    "folder",
    "include_folders",
    "include_publish_details",
    "asc",
    "desc",
    "relative_urls",
];
pub(crate) const DELIVERY_ENTRIES: &[&str] = &[
    "environment",
    "skip",
    "limit",
    "include_count",
    "count",
    "query",
    "asc",
    "desc",
    "locale",
    "only[BASE][]",
    "except[BASE][]",
];

use Auth::*;
use Body::{AssetJsonOrUpload, AssetUpload, ImportFile, Json, JsonObject};
use Reply::*;

/// The route table, kept with the handlers in `routes/mod.rs`: the router is built from it and
/// so is this document.
pub use crate::routes::OPERATIONS;

/// The schema and description of a query parameter used in [`OPERATIONS`].
pub fn query_parameter(name: &str) -> Option<(Value, &'static str)> {
    let int = json!({"type": "integer", "minimum": 0});
    let boolean = json!({"type": "boolean"});
    let string = json!({"type": "string"});
    Some(match name {
        "skip" => (int, "Items to skip."),
        "limit" => (
            json!({"type": "integer", "minimum": 0, "maximum": 100}),
            "Items to return (at most 100).",
        ),
        "include_count" => (boolean, "Add `count`, the number of items matching."),
        "nested" => (
            boolean,
            "Publish (or unpublish) the items' references too, five levels down.",
        ),
        "event_type" => (string, "Sent with `nested` by the JavaScript client (`bulk`)."),
        "approvals" => (
            boolean,
            "Leave out what a publish rule would hold; publish the rest.",
        ),
        "skip_workflow_stage_check" => (
            boolean,
            "Leave out what a publish rule would hold; publish the rest.",
        ),
        "publish_all_localized" => (boolean, "Accepted; changes nothing."),
        "api_key" => (string, "The stack's API key, as in the link."),
        "uid" => (string, "The new owner's user uid, as in the link."),
        "count" => (boolean, "Answer only the number of items matching."),
        "query" => (
            string,
            "A JSON query (`$eq $ne $in $nin $lt $lte $gt $gte $exists $regex $and $or`; on \
             `taxonomies.<uid>` also `$eq_below $below $eq_above $above` with `levels`).",
        ),
        "include_terms_count" => (boolean, "Add `terms_count`."),
        "include_referenced_terms_count" => (
            boolean,
            "Add `referenced_terms_count` and `referenced_entries_count`.",
        ),
        "include_referenced_entries_count" => (
            boolean,
            "Add `referenced_entries_count`, the entries carrying the term(s).",
        ),
        "include_children_count" => (boolean, "Add `children_count` to each term."),
        "include_ancestors" => (
            boolean,
            "Add `ancestors`: the taxonomy, then the terms above, root first.",
        ),
        "typeahead" => (string, "Keep terms whose name or uid contains this text."),
        "search" => (string, "The same as `typeahead`."),
        "force" => (
            boolean,
            "Delete or move even what depends on it (see the operation).",
        ),
        "format" => (string, "Export format: `json` (default) or `csv`."),
        "depth" => (
            json!({"type": "integer", "minimum": 0, "maximum": 10}),
            "Levels of terms to return (0 or absent: all).",
        ),
        "asc" => (string, "Sort ascending by this field."),
        "desc" => (string, "Sort descending by this field."),
        "locale" => (
            string,
            "Locale code; unlocalized entries fall back to the master locale.",
        ),
        "version" => (json!({"type": "integer", "minimum": 1}), "A past version."),
        "only[BASE][]" => (
            json!({"type": "array", "items": {"type": "string"}}),
            "Return only these fields.",
        ),
        "except[BASE][]" => (
            json!({"type": "array", "items": {"type": "string"}}),
            "Leave out these fields.",
        ),
        "include_publish_details" => (boolean, "Add `publish_details`."),
        "folder" => (string, "List the files of this folder only."),
        "include_folders" => (
            boolean,
            "Also list the folders (of `folder`, or every folder).",
        ),
        "include_collaborators" => (boolean, "Add the stack's users."),
        "organization_uid" => (string, "The organization (instead of the header)."),
        "environment" => (string, "The environment whose published content is served."),
        "content_types" => (string, "Comma-separated content type uids."),
        "action" => (string, "`publish` or `unpublish`."),
        "all" => (boolean, "All items."),
        "relative_urls" => (
            boolean,
            "File URLs as paths only, without this server's origin.",
        ),
        "named" => (boolean, "Only the versions that have a name."),
        "entity_uid" => (string, "Only the metadata of this entry or asset."),
        "overwrite" => (boolean, "Replace an existing object of the same uid."),
        "base_branch" => (
            string,
            "The branch merged into (default: the compare branch's source).",
        ),
        "compare_branch" => (string, "The branch compared or merged from (required)."),
        "include_schemas" => (boolean, "Add each side's whole schema."),
        "default_merge_strategy" => (
            string,
            "merge_prefer_base, merge_prefer_compare, overwrite_with_compare, merge_new_only, merge_modified_only_prefer_base, merge_modified_only_prefer_compare or ignore (required).",
        ),
        "merge_comment" => (string, "A comment kept with the merge."),
        "no_revert" => (boolean, "Recorded; Headwater makes no backup branch."),
        "days" => (
            json!({"type": "integer", "minimum": 1, "maximum": 366}),
            "Days of usage to return, newest first (default 30).",
        ),
        "status" => (string, "Only items with this status."),
        "type" => (string, "`entry` or `asset`."),
        "ct" => (string, "Only entries of this content type."),
        "content_type_uid" => (string, "Only entries of this content type."),
        "email" => (string, "An email address: its domain finds the organization."),
        "org_uid" => (string, "The organization."),
        "code" => (string, "The provider's authorization code."),
        "state" => (string, "The sign-in's one-time state."),
        "scheduled" => (
            boolean,
            "Only scheduled items (`true`) or only the others (`false`).",
        ),
        _ => return None,
    })
}

fn header_parameter(name: &str) -> Value {
    let (required, description) = match name {
        "api_key" => (
            false,
            "The stack's API key: with it, this stack is answered as `{\"stack\": {…}}`.",
        ),
        "organization_uid" => (
            false,
            "The organization: on create, may be left out when the user has only one; on list, only its stacks.",
        ),
        "branch" => (false, "The branch to act on (default `main`)."),
        "api_version" => (
            false,
            "The API version the client asks for (the JavaScript client sends `3.2`); accepted, not required.",
        ),
        "bulk_version" => (
            false,
            "The bulk API version the client asks for (the JavaScript client sends `2.0` with release items); accepted, not required.",
        ),
        "skip_workflow_stage_check" => (
            false,
            "`true`: items whose workflow stage a publish rule would hold are left out; the rest are published.",
        ),
        "approvals" => (
            false,
            "`true`: items a publish rule would hold for approval are left out; the rest are published.",
        ),
        _ => (false, ""),
    };
    json!({"name": name, "in": "header", "required": required, "description": description,
           "schema": {"type": "string"}})
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn security(auth: Auth) -> Value {
    match auth {
        Public => json!([]),
        User => json!([{"authtoken": []}]),
        StackUser => json!([{"api_key": [], "authtoken": []}]),
        Stack => json!([{"api_key": [], "authtoken": []}, {"api_key": [], "management_token": []}]),
        Delivery => json!([{"api_key": [], "access_token": []}]),
    }
}

fn object_ref() -> Value {
    json!({"$ref": "#/components/schemas/Object"})
}

fn wrapped(key: &str, notice: bool, schema: Value) -> Value {
    let mut props = Map::new();
    let mut required = vec![json!(key)];
    if notice {
        props.insert("notice".into(), json!({"type": "string"}));
        required.insert(0, json!("notice"));
    }
    props.insert(key.into(), schema);
    json!({"type": "object", "required": required, "properties": props})
}

/// The schema of `key`'s object in an operation of `tag`: the typed request or reply schema
/// when the resource is typed (see [`crate::wire::described`]), else the free-form `Object`.
fn schema_of(described: &Described, tag: &str, key: &str, request: bool) -> Value {
    match described.find(tag, key) {
        Some(t) if request => t.request.clone(),
        Some(t) => t.reply.clone(),
        None => object_ref(),
    }
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn request_body(body: Body, tag: &str, described: &Described) -> Option<Value> {
    let upload = json!({"multipart/form-data": {"schema": {"type": "object", "required": ["asset[upload]"],
        "properties": {
            "asset[upload]": {"type": "string", "contentMediaType": "application/octet-stream"},
            "asset[title]": {"type": "string"},
            "asset[description]": {"type": "string"},
            "asset[tags]": {"type": "string", "description": "comma-separated"},
            "asset[parent_uid]": {"type": "string"}}}}});
    let content = match body {
        Body::None => return None,
        Json(key) => json_content(wrapped(key, false, schema_of(described, tag, key, true))),
        JsonObject => json_content(object_ref()),
        AssetUpload => upload,
        Body::TaxonomyUpload => json!({"multipart/form-data": {"schema": {"type": "object",
            "required": ["taxonomy"], "properties": {
                "taxonomy": {"type": "string", "contentMediaType": "application/json"}}}}}),
        ImportFile(part) => {
            json!({"multipart/form-data": {"schema": {"type": "object", "required": [part],
            "properties": {part: {"type": "string", "contentMediaType": "application/json",
                "description": "A JSON file: the object, bare or wrapped in its key."}}}}})
        }
        AssetJsonOrUpload => {
            let mut c = json_content(wrapped("asset", false, object_ref()));
            c.as_object_mut()
                .expect("object")
                .extend(upload.as_object().expect("object").clone());
            c
        }
    };
    Some(json!({"required": true, "content": content}))
}

fn responses(reply: Reply, tag: &str, described: &Described) -> Value {
    if reply == Reply::NoContent {
        return json!({
            "204": {"description": "Done (no body)."},
            "4XX": {"$ref": "#/components/responses/Error"},
            "5XX": {"$ref": "#/components/responses/Error"},
        });
    }
    let of = |key: &str| schema_of(described, tag, key, false);
    let (status, description, content) = match reply {
        One(key) => (
            "200",
            "The object.",
            json_content(wrapped(key, false, of(key))),
        ),
        List(key) => (
            "200",
            "The list (`count` with `include_count=true`).",
            json_content(json!({"type": "object", "required": [key], "properties": {
                key: {"type": "array", "items": of(key)},
                "count": {"type": "integer"}}})),
        ),
        Created(key) => ("201", "Created.", json_content(wrapped(key, true, of(key)))),
        Updated(key) => ("200", "Done.", json_content(wrapped(key, true, of(key)))),
        Notice => (
            "200",
            "Done.",
            json_content(json!({"$ref": "#/components/schemas/Notice"})),
        ),
        Health => (
            "200",
            "Up, database reachable (503 otherwise).",
            json_content(json!({"type": "object", "properties": {"status": {"type": "string"}}})),
        ),
        Document => (
            "200",
            "OpenAPI 3.1 document.",
            json_content(json!({"type": "object"})),
        ),
        Raw => ("200", "The object itself.", json_content(object_ref())),
        Members(names) => (
            "200",
            "The answer.",
            json_content(json!({"type": "object", "required": names,
                "properties": names.iter().map(|n| (n.to_string(), json!({}))).collect::<Map<String, Value>>()})),
        ),
        Object => ("200", "Done.", json_content(json!({"type": "object"}))),
        File => (
            "200",
            "The file, with its content type.",
            json!({"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}),
        ),
        NoContent => unreachable!("answered above"),
        Redirect => ("302", "A redirect (`Location`).", Value::Null),
        Bare(status) => ("200", status, json_content(object_ref())),
    };
    let mut ok = json!({"description": description});
    if !content.is_null() {
        ok["content"] = content;
    }
    json!({
        status: ok,
        "4XX": {"$ref": "#/components/responses/Error"},
        "5XX": {"$ref": "#/components/responses/Error"},
    })
}

fn operation_id(o: &Operation) -> String {
    let mut id = o.method.to_ascii_lowercase();
    for seg in o.path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(
            seg.trim_start_matches('{')
                .trim_end_matches('}')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

/// The whole document.
pub fn document() -> Value {
    let described = crate::wire::described();
    let mut paths = Map::new();
    for o in OPERATIONS {
        let mut parameters = path_parameters(o.path);
        for h in o.headers {
            parameters.push(header_parameter(h));
        }
        if o.auth == Stack {
            parameters.push(json!({"$ref": "#/components/parameters/branch"}));
        }
        for q in o.query {
            let (schema, description) =
                query_parameter(q).unwrap_or_else(|| (json!({"type": "string"}), ""));
            parameters.push(json!({"name": q, "in": "query", "required": false,
                                   "description": description, "schema": schema}));
        }
        let here = described.at(o.path);
        let mut item = json!({
            "operationId": operation_id(o),
            "tags": [o.tag],
            "summary": o.summary,
            "security": security(o.auth),
            "parameters": parameters,
            "responses": responses(o.reply, o.tag, &here),
        });
        if let Some(body) = request_body(o.body, o.tag, &here) {
            item["requestBody"] = body;
        }
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        entry[o.method.to_ascii_lowercase()] = item;
    }
    let mut schemas = json!({
        "Error": {"type": "object", "required": ["error_message", "error_code"], "properties": {
            "error_message": {"type": "string"},
            "error_code": {"type": "integer", "description": "See docs/errors.md."},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "Messages per field, named as the field sits in the resource (`name`, `scope[0].module`, `schema[2].data_type`): a request envelope such as `token.` is left out."},
        }},
        "Notice": {"type": "object", "required": ["notice"], "properties": {"notice": {"type": "string"}}},
        "Object": {"type": "object", "additionalProperties": true,
                   "description": "A Contentstack object (see the CMA reference for its fields)."},
    });
    schemas
        .as_object_mut()
        .expect("object")
        .extend(described.definitions);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Headwater Content Management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Contentstack's Content Management API (v3) as Headwater serves it, and the \
                Content Delivery API at /cda/v3 (also at /v3 on the --cda-listen port). Stack \
                requests carry the stack's `api_key` header and either a user's `authtoken` or a \
                management token sent raw in `authorization`. Every error is \
                `{\"error_message\", \"error_code\", \"errors\"}`; 429 answers carry \
                `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `Retry-After`.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "authtoken": {"type": "apiKey", "in": "header", "name": "authtoken",
                              "description": "A user's session token, from POST /v3/user-session."},
                "management_token": {"type": "apiKey", "in": "header", "name": "authorization",
                                     "description": "A stack management token (`hwmt_…`), sent raw."},
                "api_key": {"type": "apiKey", "in": "header", "name": "api_key",
                            "description": "The stack's API key."},
                "access_token": {"type": "apiKey", "in": "header", "name": "access_token",
                                 "description": "A delivery token (`hwdt_…`)."},
            },
            "parameters": {
                "branch": header_parameter("branch"),
            },
            "schemas": schemas,
            "responses": {
                "Error": {"description": "An error in Contentstack's shape.",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        },
    })
}

/// `GET /v3/openapi.json`: no credential needed.
pub async fn serve() -> Response {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        serde_json::to_string_pretty(&document()).expect("the document serializes")
    });
    ([(CONTENT_TYPE, "application/json")], text.clone()).into_response()
}
