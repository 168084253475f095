//! The decision table. `policy_table.txt` beside this file lists every (subject × module ×
//! operation) decision; the test renders the table again and compares. After a deliberate
//! policy change, regenerate it with `UPDATE_POLICY_TABLE=1 cargo test -p headwater-core` and
//! review the diff. The named tests below pin each management-token rule on its own.

use super::*;
use crate::scope::TokenScope;
use serde_json::json;

fn token(scope: serde_json::Value) -> Subject {
    Subject::ManagementToken(TokenAccess {
        scope: std::sync::Arc::new(TokenScope::parse(&scope).unwrap()),
        branch: "main".into(),
        via_alias: None,
        alias_targets: vec![],
    })
}

fn user(org: Option<OrgRole>, stack: Option<StackRole>) -> Subject {
    Subject::User(UserAccess {
        org,
        stack,
        teams: vec![],
    })
}

fn rw_all() -> Subject {
    token(json!([{"module": "$all", "acl": {"read": true, "write": true}}]))
}

fn ro_all() -> Subject {
    token(json!([{"module": "$all", "acl": {"read": true, "write": false}}]))
}

fn subjects() -> Vec<(&'static str, Subject)> {
    vec![
        ("owner", user(Some(OrgRole::Member), Some(StackRole::Owner))),
        (
            "admin",
            user(
                Some(OrgRole::Member),
                Some(StackRole::Builtin(BuiltinRole::Admin)),
            ),
        ),
        (
            "developer",
            user(
                Some(OrgRole::Member),
                Some(StackRole::Builtin(BuiltinRole::Developer)),
            ),
        ),
        (
            "content_manager",
            user(
                Some(OrgRole::Member),
                Some(StackRole::Builtin(BuiltinRole::ContentManager)),
            ),
        ),
        (
            "custom(entries of blog: read+create; assets: read)",
            user(
                Some(OrgRole::Member),
                Some(StackRole::Custom(vec![
                    json!({"module": "content_type", "content_types": ["blog"],
                           "acl": {"read": true, "sub_acl": {"read": true, "create": true}}}),
                    json!({"module": "asset", "assets": ["$all"], "acl": {"read": true}}),
                ])),
            ),
        ),
        ("org_owner_not_in_stack", user(Some(OrgRole::Owner), None)),
        ("org_admin_not_in_stack", user(Some(OrgRole::Admin), None)),
        ("org_member_not_in_stack", user(Some(OrgRole::Member), None)),
        (
            "org_member_via_team(developer)",
            Subject::User(UserAccess {
                org: Some(OrgRole::Member),
                stack: None,
                teams: vec![StackRole::Builtin(BuiltinRole::Developer)],
            }),
        ),
        (
            "content_manager_and_team(developer)",
            Subject::User(UserAccess {
                org: Some(OrgRole::Member),
                stack: Some(StackRole::Builtin(BuiltinRole::ContentManager)),
                teams: vec![StackRole::Builtin(BuiltinRole::Developer)],
            }),
        ),
        ("not_in_org", user(None, None)),
        ("token_rw_all", rw_all()),
        ("token_ro_all", ro_all()),
        (
            "delivery_token(production)",
            Subject::DeliveryToken(DeliveryAccess {
                environments: vec!["production".into()],
                environment: "production".into(),
                branches: vec!["main".into()],
                branch: "main".into(),
            }),
        ),
        (
            "token_rw_content_type_and_entry",
            token(json!([
                {"module": "content_type", "acl": {"read": true, "write": true}},
                {"module": "entry", "acl": {"read": true, "write": true}}
            ])),
        ),
        ("token_entries_of_blog_publish_staging", blog_staging()),
    ]
}

/// MT-18: entries of `blog` only, read and written, published to `staging` only; assets read.
fn blog_staging() -> Subject {
    token(json!([
        {"module": "entry", "content_types": ["blog"], "environments": ["staging"],
         "acl": {"read": true, "write": true}},
        {"module": "content_type", "content_types": ["blog"], "acl": {"read": true}},
        {"module": "asset", "environments": ["staging"], "acl": {"read": true, "write": true}}
    ]))
}

/// The narrowed subjects' decisions by content type and environment (MT-18).
fn render_narrowed() -> String {
    let mut out = String::from(
        "# MT-18 narrowed scopes: subject | module | op | content type | environments | decision\n",
    );
    let narrowed = [
        ("token_entries_of_blog_publish_staging", blog_staging()),
        ("token_rw_all", rw_all()),
    ];
    let envs: [Option<Vec<String>>; 5] = [
        None,
        Some(vec!["(later)".into()]),
        Some(vec!["staging".into()]),
        Some(vec!["production".into()]),
        Some(vec!["staging".into(), "production".into()]),
    ];
    for (name, subject) in &narrowed {
        for module in [Module::Entries, Module::ContentTypes, Module::Assets] {
            for op in [Op::Read, Op::Create, Op::Update, Op::Delete, Op::Publish] {
                if op == Op::Publish && module == Module::ContentTypes {
                    continue;
                }
                for ct in [Some("blog"), Some("news"), None] {
                    if module == Module::Assets && ct.is_some() {
                        continue;
                    }
                    let env_cases: &[Option<Vec<String>>] =
                        if op == Op::Publish { &envs } else { &envs[..1] };
                    for e in env_cases {
                        let mut action = Action::new(module, op);
                        action.content_type = ct.map(str::to_string);
                        if e.as_ref().is_some_and(|e| e[0] == "(later)") {
                            action = action.environments_later();
                        } else {
                            action.environments = e.clone();
                        }
                        let d = match decide(subject, &action) {
                            Ok(()) => "allow".to_string(),
                            Err(d) => format!("deny {}", d.rule),
                        };
                        out.push_str(&format!(
                            "{name} | {} | {op:?} | {} | {} | {d}\n",
                            module.scope_name(),
                            ct.unwrap_or("-"),
                            e.as_ref()
                                .map(|e| e.join("+"))
                                .unwrap_or_else(|| "-".into()),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The client-address decisions (MT-16).
fn render_origin() -> String {
    let mut out = String::from("# MT-16 client address: allowed_cidrs | client | decision\n");
    let ranges: [Option<&str>; 3] = [None, Some("10.0.0.0/8"), Some("10.0.0.0/8,2001:db8::/32")];
    let clients = [
        Some("10.1.2.3"),
        Some("192.0.2.1"),
        Some("2001:db8::7"),
        Some("::ffff:10.1.2.3"),
        None,
    ];
    for r in ranges {
        let parsed: Option<Vec<crate::cidr::Cidr>> =
            r.map(|r| r.split(',').map(|c| c.parse().unwrap()).collect());
        for c in clients {
            let ip = c.map(|c| c.parse().unwrap());
            let d = match decide_origin(parsed.as_deref(), ip) {
                Ok(()) => "allow".to_string(),
                Err(d) => format!("deny {}", d.rule),
            };
            out.push_str(&format!(
                "{} | {} | {d}\n",
                r.unwrap_or("(none)"),
                c.unwrap_or("(unknown)")
            ));
        }
    }
    out
}

fn meaningful(module: Module, op: Op) -> bool {
    match op {
        Op::Share | Op::Unshare => matches!(module, Module::StackUsers | Module::Organization),
        Op::Transfer => matches!(module, Module::Stack | Module::Organization),
        Op::Decide => module == Module::PublishRequests,
        Op::Publish => matches!(
            module,
            Module::Entries | Module::Assets | Module::Releases | Module::Taxonomies
        ),
        _ => {
            !matches!(module, Module::PublishRequests | Module::StackUsers)
                || (module == Module::StackUsers && op == Op::Read)
        }
    }
}

fn render_table() -> String {
    let mut out = String::from("# subject | module | op | decision\n");
    for (name, subject) in subjects() {
        for module in Module::ALL {
            for op in Op::ALL {
                if !meaningful(module, op) {
                    continue;
                }
                let action = Action::new(module, op).on_content_type("blog");
                let d = match decide(&subject, &action) {
                    Ok(()) => "allow".to_string(),
                    Err(d) => format!("deny {}", d.rule),
                };
                out.push_str(&format!(
                    "{name} | {} | {op:?} | {d}\n",
                    module.scope_name()
                ));
            }
        }
    }
    out.push_str(&render_narrowed());
    out.push_str(&render_origin());
    out
}

#[test]
fn decision_table_matches_the_reviewed_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/policy/policy_table.txt");
    let rendered = render_table();
    if std::env::var_os("UPDATE_POLICY_TABLE").is_some() {
        std::fs::write(path, &rendered).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(path).expect("policy_table.txt exists");
    if stored != rendered {
        let first = stored
            .lines()
            .zip(rendered.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("snapshot: {a}\nnow:      {b}"))
            .unwrap_or_else(|| "line count differs".into());
        panic!("policy decisions changed; review and regenerate.\n{first}");
    }
}

fn denied_by(subject: &Subject, module: Module, op: Op) -> &'static str {
    decide(subject, &Action::new(module, op))
        .expect_err("expected a denial")
        .rule
}

#[test]
fn mt_03_read_write_token_reaches_every_content_module() {
    for m in [
        Module::Environments,
        Module::Locales,
        Module::ContentTypes,
        Module::GlobalFields,
        Module::Entries,
        Module::Assets,
        Module::Workflows,
        Module::Webhooks,
        Module::Roles,
        Module::Releases,
        Module::Labels,
    ] {
        for op in [Op::Read, Op::Create, Op::Update, Op::Delete] {
            assert!(
                decide(&rw_all(), &Action::new(m, op)).is_ok(),
                "{m:?} {op:?}"
            );
        }
    }
    assert!(decide(&rw_all(), &Action::new(Module::Entries, Op::Publish)).is_ok());
}

#[test]
fn mt_04_scope_not_role_limits_a_token() {
    let ct_only = token(json!([{"module": "content_type", "acl": {"read": true, "write": true}}]));
    assert!(decide(&ct_only, &Action::new(Module::ContentTypes, Op::Create)).is_ok());
    assert_eq!(denied_by(&ct_only, Module::Assets, Op::Read), "MT-4");
    let Subject::ManagementToken(mut t) = rw_all() else {
        unreachable!()
    };
    t.branch = "dev".into();
    assert_eq!(
        denied_by(&Subject::ManagementToken(t), Module::Entries, Op::Read),
        "MT-4"
    );
}

#[test]
fn mt_04_branch_and_alias_scope() {
    let scoped =
        |branch: &str, alias: Option<&str>, target: &str| {
            Subject::ManagementToken(TokenAccess {
            scope: std::sync::Arc::new(TokenScope::parse(&json!([
                {"module": "$all", "acl": {"read": true, "write": true}},
                {"module": "branch", "branches": ["dev"], "acl": {"read": true}},
                {"module": "branch_alias", "branch_aliases": ["deploy"], "acl": {"read": true}}
            ]))
            .unwrap()),
            branch: branch.into(),
            via_alias: alias.map(str::to_string),
            alias_targets: vec![("deploy".into(), target.into())],
        })
        };
    let read = Action::new(Module::Entries, Op::Read);
    assert!(decide(&scoped("dev", None, "release"), &read).is_ok());
    assert!(decide(&scoped("release", Some("deploy"), "release"), &read).is_ok());
    assert!(decide(&scoped("release", None, "release"), &read).is_ok());
    assert!(decide(&scoped("main", None, "release"), &read).is_err());
    // Re-pointing the alias moves the token's reach with it.
    assert!(decide(&scoped("release", None, "hotfix"), &read).is_err());
}

#[test]
fn mt_18_narrowed_scopes_limit_content_types_and_publish_environments() {
    let t = blog_staging();
    let entry = |op| Action::new(Module::Entries, op);
    assert!(decide(&t, &entry(Op::Create).on_content_type("blog")).is_ok());
    let news = decide(&t, &entry(Op::Read).on_content_type("news")).unwrap_err();
    assert_eq!(news.rule, "MT-18");
    assert!(news.message.contains("'news'"), "{}", news.message);
    let staging = ["staging".to_string()];
    let production = ["production".to_string()];
    let publish = entry(Op::Publish).on_content_type("blog");
    assert!(decide(&t, &publish.clone().to_environments(&staging)).is_ok());
    let d = decide(&t, &publish.clone().to_environments(&production)).unwrap_err();
    assert_eq!(d.rule, "MT-18");
    assert!(d.message.contains("production"), "{}", d.message);
    // Environments not named: refused, never assumed; a first decision before the body names
    // them passes when the scope can publish somewhere.
    assert_eq!(decide(&t, &publish).unwrap_err().rule, "MT-18");
    assert!(decide(&t, &publish.clone().environments_later()).is_ok());
    // A module the scope does not name at all is still MT-4; module-level scopes are as before.
    assert_eq!(denied_by(&t, Module::Environments, Op::Read), "MT-4");
    assert!(decide(&rw_all(), &entry(Op::Publish).to_environments(&production)).is_ok());
}

#[test]
fn mt_16_bound_tokens_work_only_from_their_ranges() {
    let ranges: Vec<crate::cidr::Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
    assert!(decide_origin(Some(&ranges), Some("10.9.9.9".parse().unwrap())).is_ok());
    let d = decide_origin(Some(&ranges), Some("192.0.2.1".parse().unwrap())).unwrap_err();
    assert_eq!(d.rule, "MT-16");
    assert!(d.message.contains("10.0.0.0/8") && d.message.contains("192.0.2.1"));
    assert!(decide_origin(None, None).is_ok());
    assert!(decide_origin(Some(&ranges), None).is_err());
}

#[test]
fn mt_05_only_owner_and_admin_manage_tokens() {
    for (name, s) in subjects() {
        let r = decide(&s, &Action::new(Module::ManagementTokens, Op::Create));
        let expected = matches!(
            name,
            "owner" | "admin" | "org_admin_not_in_stack" | "org_owner_not_in_stack"
        );
        assert_eq!(r.is_ok(), expected, "{name}");
        if name == "developer" {
            assert_eq!(r.unwrap_err().rule, "MT-5");
        }
    }
}

#[test]
fn mt_07_read_only_token_refuses_every_write() {
    for m in [
        Module::Entries,
        Module::Assets,
        Module::Environments,
        Module::ContentTypes,
    ] {
        assert!(decide(&ro_all(), &Action::new(m, Op::Read)).is_ok());
        for op in [Op::Create, Op::Update, Op::Delete] {
            assert_eq!(denied_by(&ro_all(), m, op), "MT-7");
        }
    }
    assert_eq!(denied_by(&ro_all(), Module::Entries, Op::Publish), "MT-7");
    assert_eq!(denied_by(&ro_all(), Module::Assets, Op::Publish), "MT-7");
}

#[test]
fn mt_08_forbidden_modules() {
    for op in [Op::Read, Op::Create, Op::Update, Op::Delete] {
        for m in [
            Module::Organization,
            Module::UserSession,
            Module::ManagementTokens,
            Module::DeliveryTokens,
            Module::StackSettings,
        ] {
            assert_eq!(denied_by(&rw_all(), m, op), "MT-8", "{m:?} {op:?}");
        }
    }
    for op in [Op::Create, Op::Update, Op::Delete] {
        assert_eq!(denied_by(&rw_all(), Module::Stack, op), "MT-8");
    }
}

#[test]
fn mt_09_no_publish_request_decisions() {
    assert_eq!(
        denied_by(&rw_all(), Module::PublishRequests, Op::Decide),
        "MT-9"
    );
    // Sending a request for approval is a publish, which a read-write token may do.
    assert!(decide(&rw_all(), &Action::new(Module::PublishRequests, Op::Create)).is_ok());
}

#[test]
fn mt_10_no_share_unshare_or_branch_management() {
    assert_eq!(denied_by(&rw_all(), Module::StackUsers, Op::Share), "MT-10");
    assert_eq!(
        denied_by(&rw_all(), Module::StackUsers, Op::Unshare),
        "MT-10"
    );
    assert_eq!(denied_by(&rw_all(), Module::Branches, Op::Create), "MT-10");
    assert_eq!(denied_by(&rw_all(), Module::Branches, Op::Delete), "MT-10");
    assert_eq!(
        denied_by(&rw_all(), Module::BranchAliases, Op::Update),
        "MT-10"
    );
    assert!(decide(&rw_all(), &Action::new(Module::Branches, Op::Read)).is_ok());
}

#[test]
fn role_matrix_highlights() {
    let dev = user(
        Some(OrgRole::Member),
        Some(StackRole::Builtin(BuiltinRole::Developer)),
    );
    assert!(decide(&dev, &Action::new(Module::Stack, Op::Delete)).is_err());
    assert!(decide(&dev, &Action::new(Module::StackUsers, Op::Share)).is_err());
    let admin = user(None, Some(StackRole::Builtin(BuiltinRole::Admin)));
    assert!(decide(&admin, &Action::new(Module::StackUsers, Op::Share)).is_ok());
    assert!(decide(&admin, &Action::new(Module::Stack, Op::Delete)).is_err());
    let owner = user(None, Some(StackRole::Owner));
    assert!(decide(&owner, &Action::new(Module::Stack, Op::Delete)).is_ok());
    let outsider = user(Some(OrgRole::Member), None);
    assert!(decide(&outsider, &Action::new(Module::Entries, Op::Read)).is_err());
    assert!(decide(&outsider, &Action::new(Module::Stack, Op::Create)).is_ok());
    let nobody = user(None, None);
    assert!(decide(&nobody, &Action::new(Module::Stack, Op::Create)).is_err());
}

#[test]
fn custom_role_rules_allow_and_deny_as_written() {
    let s = subjects().remove(4).1;
    let blog = |op| Action::new(Module::Entries, op).on_content_type("blog");
    let news = |op| Action::new(Module::Entries, op).on_content_type("news");
    assert!(decide(&s, &blog(Op::Read)).is_ok());
    assert!(decide(&s, &blog(Op::Create)).is_ok());
    assert!(decide(&s, &blog(Op::Delete)).is_err());
    assert!(decide(&s, &news(Op::Read)).is_err());
    assert!(decide(&s, &Action::new(Module::Assets, Op::Read)).is_ok());
    assert!(decide(&s, &Action::new(Module::Assets, Op::Create)).is_err());
    assert!(decide(&s, &Action::new(Module::ManagementTokens, Op::Read)).is_err());
}

#[test]
fn delivery_tokens_read_published_content_of_their_environments_only() {
    let dt = |env: &str| {
        Subject::DeliveryToken(DeliveryAccess {
            environments: vec!["production".into()],
            environment: env.into(),
            branches: vec!["main".into()],
            branch: "main".into(),
        })
    };
    let on_branch = |branch: &str| {
        Subject::DeliveryToken(DeliveryAccess {
            environments: vec!["production".into()],
            environment: "production".into(),
            branches: vec!["main".into(), "dev".into()],
            branch: branch.into(),
        })
    };
    assert!(decide(&on_branch("dev"), &Action::new(Module::Entries, Op::Read)).is_ok());
    assert_eq!(denied_by(&on_branch("qa"), Module::Entries, Op::Read), "DT");
    assert!(decide(&dt("production"), &Action::new(Module::Entries, Op::Read)).is_ok());
    assert!(decide(&dt("production"), &Action::new(Module::Assets, Op::Read)).is_ok());
    assert_eq!(denied_by(&dt("staging"), Module::Entries, Op::Read), "DT");
    assert_eq!(
        denied_by(&dt("production"), Module::Entries, Op::Create),
        "DT"
    );
    assert_eq!(
        denied_by(&dt("production"), Module::Environments, Op::Read),
        "DT"
    );
    assert_eq!(
        denied_by(&dt("production"), Module::ManagementTokens, Op::Read),
        "DT"
    );
}

fn person(uid: &str, roles: &[&str]) -> Person {
    Person {
        uid: uid.into(),
        role_uids: roles.iter().map(|r| r.to_string()).collect(),
    }
}

#[test]
fn wf_1_only_a_rules_approvers_decide_and_never_a_token() {
    let approvers = Named::from_json(&json!({"users": ["u_ann"], "roles": [{"uid": "r_legal"}]}));
    let cm = user(None, Some(StackRole::Builtin(BuiltinRole::ContentManager)));
    let owner = user(None, Some(StackRole::Owner));
    assert!(decide_approval(&cm, Some(&person("u_ann", &[])), &approvers, "r1").is_ok());
    assert!(decide_approval(&cm, Some(&person("u_bob", &["r_legal"])), &approvers, "r1").is_ok());
    let refused = decide_approval(&cm, Some(&person("u_bob", &["r_dev"])), &approvers, "r1");
    assert_eq!(refused.unwrap_err().rule, "WF-1");
    // Owning the stack does not make one an approver.
    let refused = decide_approval(&owner, Some(&person("u_own", &[])), &approvers, "r1");
    assert_eq!(refused.unwrap_err().rule, "WF-1");
    // A token is refused by MT-9 before anyone looks at the approvers, even one naming `$all`.
    let everyone = Named::from_json(&json!({"users": ["$all"]}));
    let refused = decide_approval(&rw_all(), None, &everyone, "r1").unwrap_err();
    assert_eq!(refused.rule, "MT-9");
}

#[test]
fn wf_2_only_approvers_skip_the_request() {
    let approvers = Named::from_json(&json!({"users": ["u_ann"], "roles": []}));
    let cm = user(None, Some(StackRole::Builtin(BuiltinRole::ContentManager)));
    assert!(may_skip_approval(
        &cm,
        Some(&person("u_ann", &[])),
        &approvers,
        false
    ));
    assert!(!may_skip_approval(
        &cm,
        Some(&person("u_ann", &[])),
        &approvers,
        true
    ));
    assert!(!may_skip_approval(
        &cm,
        Some(&person("u_bob", &[])),
        &approvers,
        false
    ));
    let everyone = Named::from_json(&json!({"users": ["$all"]}));
    assert!(!may_skip_approval(&rw_all(), None, &everyone, false));
}

#[test]
fn wf_3_stage_transitions() {
    let some = Named::from_json(&json!({"users": ["u_ann"], "roles": ["r_rev"]}));
    let all = Named::from_json(&json!({"users": ["$all"], "roles": []}));
    let cm = user(None, Some(StackRole::Builtin(BuiltinRole::ContentManager)));
    let admin = user(None, Some(StackRole::Builtin(BuiltinRole::Admin)));
    assert!(decide_transition(&cm, Some(&person("u_ann", &[])), &some, "Review").is_ok());
    assert!(decide_transition(&cm, Some(&person("u_x", &["r_rev"])), &some, "Review").is_ok());
    assert_eq!(
        decide_transition(&cm, Some(&person("u_x", &[])), &some, "Review")
            .unwrap_err()
            .rule,
        "WF-3"
    );
    assert!(decide_transition(&admin, Some(&person("u_x", &[])), &some, "Review").is_ok());
    assert!(decide_transition(&rw_all(), None, &all, "Review").is_ok());
    assert_eq!(
        decide_transition(&rw_all(), None, &some, "Review")
            .unwrap_err()
            .rule,
        "WF-3"
    );
}

#[test]
fn wf_4_entry_lock_of_a_stage() {
    let some = Named::from_json(&json!({"users": ["u_ann"], "roles": ["r_rev"]}));
    let all = Named::from_json(&json!({"users": ["$all"], "roles": []}));
    let cm = user(None, Some(StackRole::Builtin(BuiltinRole::ContentManager)));
    let admin = user(None, Some(StackRole::Builtin(BuiltinRole::Admin)));
    let owner = user(None, Some(StackRole::Owner));
    let ann = person("u_ann", &[]);
    let reviewer = person("u_x", &["r_rev"]);
    let other = person("u_x", &[]);
    let rule = |r: Result<(), Denial>| r.map_err(|d| d.rule);
    // $none locks nothing, for anyone.
    for s in [&cm, &rw_all()] {
        assert!(decide_entry_lock(s, Some(&other), EntryLock::None, &some, "Review").is_ok());
    }
    // $others: the people the stage names, and owners and admins.
    assert!(decide_entry_lock(&cm, Some(&ann), EntryLock::Others, &some, "Review").is_ok());
    assert!(decide_entry_lock(&cm, Some(&reviewer), EntryLock::Others, &some, "Review").is_ok());
    assert_eq!(
        rule(decide_entry_lock(
            &cm,
            Some(&other),
            EntryLock::Others,
            &some,
            "Review"
        )),
        Err("WF-4")
    );
    assert!(decide_entry_lock(&admin, Some(&other), EntryLock::Others, &some, "Review").is_ok());
    assert!(decide_entry_lock(&owner, Some(&other), EntryLock::Others, &some, "Review").is_ok());
    // A token only where the stage is open to all users.
    assert!(decide_entry_lock(&rw_all(), None, EntryLock::Others, &all, "Review").is_ok());
    assert_eq!(
        rule(decide_entry_lock(
            &rw_all(),
            None,
            EntryLock::Others,
            &some,
            "Review"
        )),
        Err("WF-4")
    );
    // $all: owners and admins only; the stage's own people and tokens are refused.
    assert_eq!(
        rule(decide_entry_lock(
            &cm,
            Some(&ann),
            EntryLock::All,
            &some,
            "Review"
        )),
        Err("WF-4")
    );
    assert_eq!(
        rule(decide_entry_lock(
            &rw_all(),
            None,
            EntryLock::All,
            &all,
            "Review"
        )),
        Err("WF-4")
    );
    assert!(decide_entry_lock(&admin, Some(&other), EntryLock::All, &some, "Review").is_ok());
    assert_eq!(
        EntryLock::from_stage(&json!({"entry_lock": "$others"})),
        EntryLock::Others
    );
    assert_eq!(
        EntryLock::from_stage(&json!({"entry_lock": "$all"})),
        EntryLock::All
    );
    assert_eq!(EntryLock::from_stage(&json!({})), EntryLock::None);
}
