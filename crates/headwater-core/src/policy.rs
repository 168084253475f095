//! The one authorization decision.
//!
//! Every request is turned into a [`Subject`] (who is asking, with everything the decision
//! needs already loaded) and an [`Action`] (module + operation). [`decide`] is the only place
//! that says yes or no. It is pure, so the whole decision table is tested in this file.

use crate::scope::TokenScope;
use serde_json::Value;

/// The parts of the API an action can touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    Organization,
    Stack,
    StackSettings,
    /// Who is in the stack: listing users, inviting (share), removing (unshare), role assignment.
    StackUsers,
    UserSession,
    ManagementTokens,
    DeliveryTokens,
    Roles,
    Environments,
    Locales,
    ContentTypes,
    GlobalFields,
    Entries,
    Assets,
    Workflows,
    /// Accepting or rejecting a received publish/unpublish request.
    PublishRequests,
    Branches,
    BranchAliases,
    Webhooks,
    AuditLog,
    Labels,
    Releases,
    Extensions,
    Taxonomies,
    /// Publishing jobs and scheduled publishes: the bulk job status and the publish queue.
    PublishQueue,
    /// An organization's teams, their members and their stack role mappings.
    Teams,
    /// An organization's audit log (`/v3/organizations/{uid}/logs`).
    OrgAuditLog,
    /// An organization's single sign-on (OpenID Connect) settings: its owner only.
    OrgSso,
}

impl Module {
    pub const ALL: [Module; 28] = [
        Module::Organization,
        Module::Stack,
        Module::StackSettings,
        Module::StackUsers,
        Module::UserSession,
        Module::ManagementTokens,
        Module::DeliveryTokens,
        Module::Roles,
        Module::Environments,
        Module::Locales,
        Module::ContentTypes,
        Module::GlobalFields,
        Module::Entries,
        Module::Assets,
        Module::Workflows,
        Module::PublishRequests,
        Module::Branches,
        Module::BranchAliases,
        Module::Webhooks,
        Module::AuditLog,
        Module::Labels,
        Module::Releases,
        Module::Extensions,
        Module::Taxonomies,
        Module::PublishQueue,
        Module::Teams,
        Module::OrgAuditLog,
        Module::OrgSso,
    ];

    /// The module name used in management-token scopes and role rules.
    pub fn scope_name(self) -> &'static str {
        match self {
            Module::Organization => "organization",
            Module::Stack => "stack",
            Module::StackSettings => "stack_settings",
            Module::StackUsers => "stack_users",
            Module::UserSession => "user_session",
            Module::ManagementTokens => "management_token",
            Module::DeliveryTokens => "delivery_token",
            Module::Roles => "role",
            Module::Environments => "environment",
            Module::Locales => "locale",
            Module::ContentTypes => "content_type",
            Module::GlobalFields => "global_field",
            Module::Entries => "entry",
            Module::Assets => "asset",
            Module::Workflows => "workflow",
            Module::PublishRequests => "publish_request",
            Module::Branches => "branch",
            Module::BranchAliases => "branch_alias",
            Module::Webhooks => "webhook",
            Module::AuditLog => "audit_log",
            Module::Labels => "label",
            Module::Releases => "release",
            Module::Extensions => "extension",
            Module::Taxonomies => "taxonomy",
            Module::PublishQueue => "publish_queue",
            Module::Teams => "team",
            Module::OrgAuditLog => "organization_audit_log",
            Module::OrgSso => "organization_sso",
        }
    }
}

/// What is done to the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
    Publish,
    /// Invite a user into the stack (StackUsers).
    Share,
    /// Remove a user from the stack (StackUsers).
    Unshare,
    /// Accept or reject a publish request (PublishRequests).
    Decide,
    /// Hand the stack or the organization to another owner (Stack, Organization).
    Transfer,
}

impl Op {
    pub const ALL: [Op; 9] = [
        Op::Read,
        Op::Create,
        Op::Update,
        Op::Delete,
        Op::Publish,
        Op::Share,
        Op::Unshare,
        Op::Decide,
        Op::Transfer,
    ];

    pub fn is_write(self) -> bool {
        self != Op::Read
    }
}

/// One request's intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub module: Module,
    pub op: Op,
    /// The content type concerned, for entries and content types (role rules can name them).
    pub content_type: Option<String>,
    /// For publishing and unpublishing: the environments (names) concerned, once the request
    /// names them. A token scope limited to environments (MT-18) publishes only when they are
    /// known and all in its list.
    pub environments: Option<Vec<String>>,
    /// The environments are named later in the request (in its body), and the handler decides
    /// again with them: a scope limited to environments passes this first decision if it can
    /// publish anywhere (MT-18).
    pub environments_later: bool,
}

impl Action {
    pub fn new(module: Module, op: Op) -> Action {
        Action {
            module,
            op,
            content_type: None,
            environments: None,
            environments_later: false,
        }
    }

    /// The first decision of a publish whose environments the body names (see
    /// [`Action::environments_later`]).
    pub fn environments_later(mut self) -> Action {
        self.environments_later = true;
        self
    }

    pub fn to_environments(mut self, names: &[String]) -> Action {
        self.environments = Some(names.to_vec());
        self
    }

    pub fn on_content_type(mut self, uid: impl Into<String>) -> Action {
        self.content_type = Some(uid.into());
        self
    }
}

/// A user's role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgRole {
    Owner,
    Admin,
    Member,
}

/// The built-in stack roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinRole {
    Admin,
    Developer,
    ContentManager,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 3] = [
        BuiltinRole::Admin,
        BuiltinRole::Developer,
        BuiltinRole::ContentManager,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Admin",
            BuiltinRole::Developer => "Developer",
            BuiltinRole::ContentManager => "Content Manager",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Developer => "developer",
            BuiltinRole::ContentManager => "content_manager",
        }
    }

    pub fn from_key(key: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.key() == key)
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Admin can perform all actions and manage all settings of the stack, except the ability to delete or transfer ownership of the stack.",
            BuiltinRole::Developer => "Developer can perform all Content Manager's actions, view audit logs, manage content types, languages, environments, webhooks and delivery tokens.",
            BuiltinRole::ContentManager => "Content Managers can view all content types, manage entries and assets. They cannot edit content types or access stack settings.",
        }
    }
}

/// A user's standing in one stack.
#[derive(Clone, Debug, PartialEq)]
pub enum StackRole {
    Owner,
    Builtin(BuiltinRole),
    /// A custom role: its rules as stored (Contentstack's rule objects).
    Custom(Vec<Value>),
}

/// A user acting with an authtoken, with the memberships that matter for the request.
#[derive(Clone, Debug, PartialEq)]
pub struct UserAccess {
    /// Role in the organization the request concerns (the stack's organization, or the one
    /// named by `organization_uid`), if any.
    pub org: Option<OrgRole>,
    /// Standing in the stack named by `api_key`, if any.
    pub stack: Option<StackRole>,
    /// The roles the user's teams are mapped to in that stack: each grants as if held directly.
    pub teams: Vec<StackRole>,
}

/// A management token acting on its own stack (the api_key match is checked before a subject
/// is built: a token never reaches the policy with another stack's key).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenAccess {
    /// Shared with the verified-token cache: building a subject copies no scope.
    pub scope: std::sync::Arc<TokenScope>,
    /// The branch the request targets, resolved to a branch uid (`main` by default).
    pub branch: String,
    /// The alias the request named in its `branch` header, if it named one.
    pub via_alias: Option<String>,
    /// For every alias the scope names, the branch it points at now.
    pub alias_targets: Vec<(String, String)>,
}

/// A delivery token reading published content (Content Delivery API).
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryAccess {
    /// Environment uids the token's scope names.
    pub environments: Vec<String>,
    /// The environment the request asks for, resolved to its uid.
    pub environment: String,
    /// Branch uids the token's scope names (`main` when it names none).
    pub branches: Vec<String>,
    /// The branch the request targets, resolved to a branch uid.
    pub branch: String,
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    User(UserAccess),
    ManagementToken(TokenAccess),
    DeliveryToken(DeliveryAccess),
}

/// Why a request was refused. `rule` names the product rule (e.g. `MT-8`) or role rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    pub rule: &'static str,
    pub message: String,
}

fn deny(rule: &'static str, message: impl Into<String>) -> Result<(), Denial> {
    Err(Denial {
        rule,
        message: message.into(),
    })
}

/// The decision: `Ok(())` allows the action.
pub fn decide(subject: &Subject, action: &Action) -> Result<(), Denial> {
    match subject {
        Subject::User(user) => decide_user(user, action),
        Subject::ManagementToken(token) => decide_token(token, action),
        Subject::DeliveryToken(token) => decide_delivery(token, action),
    }
}

/// Delivery tokens read published entries, assets, taxonomies and content models of the
/// environments in their scope; nothing else.
fn decide_delivery(token: &DeliveryAccess, action: &Action) -> Result<(), Denial> {
    use Module::*;
    let readable = matches!(
        action.module,
        Entries | Assets | ContentTypes | GlobalFields | Taxonomies
    );
    if action.op != Op::Read || !readable {
        return deny(
            "DT",
            "A delivery token only reads published entries, assets, taxonomies and content types; use a management token or an authtoken for the Content Management API.",
        );
    }
    if !token.environments.contains(&token.environment) {
        return deny(
            "DT",
            "This delivery token's scope does not include the requested environment.",
        );
    }
    if !token.branches.contains(&token.branch) {
        return deny(
            "DT",
            format!(
                "This delivery token's scope does not include the branch '{}'.",
                token.branch
            ),
        );
    }
    Ok(())
}

fn decide_token(token: &TokenAccess, action: &Action) -> Result<(), Denial> {
    use Module::*;
    let what = match (action.module, action.op) {
        (Organization | Teams | OrgAuditLog | OrgSso, _) => Some("the organization module"),
        (Stack, _) => Some("the stack module"),
        (StackSettings, _) => Some("stack settings"),
        (UserSession, _) => Some("the user session module"),
        (ManagementTokens, _) => Some("the tokens module (management tokens)"),
        (DeliveryTokens, _) => Some("the tokens module (delivery tokens)"),
        _ => None,
    };
    if let Some(what) = what {
        return deny(
            "MT-8",
            format!("A management token cannot be used for {what}. Use an authtoken."),
        );
    }
    if action.module == PublishRequests && action.op == Op::Decide {
        return deny(
            "MT-9",
            "A management token cannot accept or reject a publish or unpublish request. An approver must use their authtoken.",
        );
    }
    if action.module == StackUsers && action.op != Op::Read {
        return deny(
            "MT-10",
            "A management token cannot invite users to or remove users from the stack. Use an authtoken.",
        );
    }
    if matches!(action.module, Branches | BranchAliases) && action.op.is_write() {
        return deny(
            "MT-10",
            "Branches are created and deleted, and aliases assigned, only with an authtoken, never with a management token.",
        );
    }

    // Where the token may act: the branches its scope names, or `main` when it names none.
    if !branch_in_scope(token) {
        return deny(
            "MT-4",
            format!(
                "This management token's scope does not include the branch '{}'.",
                token.via_alias.as_deref().unwrap_or(&token.branch)
            ),
        );
    }

    if action.module == StackUsers {
        // Reading the token's own stack's member list needs no module grant.
        return Ok(());
    }
    let scope_module = match action.module {
        PublishRequests => Entries.scope_name(),
        m => m.scope_name(),
    };
    let acl = token.scope.grant(scope_module);
    let module_level = |acl: &crate::scope::Acl| -> Result<(), Denial> {
        if action.op == Op::Read {
            if acl.read || acl.write {
                return Ok(());
            }
            return deny(
                "MT-4",
                format!(
                    "This management token's scope does not include the '{scope_module}' module."
                ),
            );
        }
        if acl.write {
            return Ok(());
        }
        if acl.read {
            return deny(
                "MT-7",
                format!("This management token is read-only for the '{scope_module}' module; it cannot create, update, delete or publish."),
            );
        }
        deny(
            "MT-4",
            format!("This management token's scope does not include the '{scope_module}' module."),
        )
    };
    module_level(&acl)?;
    if !token.scope.is_narrowed() {
        return Ok(());
    }
    // MT-18: the module is granted; the items that grant it may be limited to content types
    // and, for publishing, to environments.
    let narrowed = token.scope.grant_for(crate::scope::Ask {
        module: scope_module,
        content_type: action.content_type.as_deref(),
        environments: action.environments.as_deref(),
        environments_later: action.environments_later,
        publish: action.op == Op::Publish,
    });
    if module_level(&narrowed).is_ok() {
        return Ok(());
    }
    let read_ok = narrowed.read || narrowed.write;
    let message = match (&action.content_type, read_ok, &action.environments) {
        (Some(ct), false, _) => format!(
            "This management token's scope does not include the content type '{ct}' of the '{scope_module}' module."
        ),
        (None, false, _) => format!(
            "This management token's scope includes the '{scope_module}' module only for named content types; name one."
        ),
        (_, true, Some(envs)) if action.op == Op::Publish => format!(
            "This management token may not publish to or unpublish from the environment(s) {}.",
            envs.join(", ")
        ),
        (_, true, None) if action.op == Op::Publish => {
            "This management token publishes only to the environments its scope names; name them.".to_string()
        }
        _ => format!(
            "This management token is read-only for these '{scope_module}' items; it cannot create, update, delete or publish them."
        ),
    };
    deny("MT-18", message)
}

/// MT-16: a management token bound to address ranges works only from a client address in
/// one of them. `client` is the socket's address, or the one a trusted proxy reported.
pub fn decide_origin(
    allowed: Option<&[crate::cidr::Cidr]>,
    client: Option<std::net::IpAddr>,
) -> Result<(), Denial> {
    let Some(allowed) = allowed else {
        return Ok(());
    };
    let client = client.map(|ip| match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    });
    match client {
        Some(ip) if allowed.iter().any(|c| c.contains(ip)) => Ok(()),
        Some(ip) => deny(
            "MT-16",
            format!(
                "This management token is bound to the client addresses {} (allowed_cidrs); requests from {ip} are refused.",
                allowed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        ),
        None => deny(
            "MT-16",
            "This management token is bound to client addresses (allowed_cidrs), and the client's address is unknown.",
        ),
    }
}

fn branch_in_scope(token: &TokenAccess) -> bool {
    let scope = &token.scope;
    if scope.names_no_branch() {
        return token.branch == "main" && token.via_alias.is_none();
    }
    if let Some(alias) = &token.via_alias {
        if scope.branch_aliases().any(|a| a == alias) {
            return true;
        }
    }
    if scope.branches().any(|b| b == token.branch) {
        return true;
    }
    scope.branch_aliases().any(|a| {
        token
            .alias_targets
            .iter()
            .any(|(alias, target)| alias == a && *target == token.branch)
    })
}

fn decide_user(user: &UserAccess, action: &Action) -> Result<(), Denial> {
    use Module::*;
    match action.module {
        Organization => {
            return match (user.org, action.op) {
                (Some(_), Op::Read) => Ok(()),
                (Some(OrgRole::Owner), _) => Ok(()),
                (Some(OrgRole::Admin), Op::Transfer) => deny(
                    "ORG",
                    "Only the organization's owner can transfer its ownership.",
                ),
                (Some(OrgRole::Admin), _) => Ok(()),
                (Some(OrgRole::Member), _) => deny(
                    "ORG",
                    "Only the organization's owner and admins can change the organization.",
                ),
                (None, _) => deny("ORG", "You are not a member of this organization."),
            }
        }
        Teams | OrgAuditLog => {
            return match (user.org, action.op) {
                (Some(OrgRole::Owner | OrgRole::Admin), _) => Ok(()),
                (Some(OrgRole::Member), Op::Read) if action.module == Teams => Ok(()),
                (Some(OrgRole::Member), _) => deny(
                    "ORG",
                    format!(
                        "Only the organization's owner and admins can {} {}.",
                        op_words(action.op),
                        if action.module == Teams {
                            "teams"
                        } else {
                            "the organization's audit log"
                        }
                    ),
                ),
                (None, _) => deny("ORG", "You are not a member of this organization."),
            }
        }
        OrgSso => {
            return match user.org {
                Some(OrgRole::Owner) => Ok(()),
                Some(_) => deny(
                    "ORG",
                    "Only the organization's owner can read or change its single sign-on settings.",
                ),
                None => deny("ORG", "You are not a member of this organization."),
            }
        }
        UserSession => return Ok(()),
        Stack if action.op == Op::Create => {
            return match user.org {
                Some(_) => Ok(()),
                None => deny(
                    "ORG",
                    "You can create stacks only in an organization you belong to.",
                ),
            }
        }
        _ => {}
    }

    // Everything else concerns one stack. Organization owners and admins act as stack admins
    // on every stack of their organization. The roles of the user's teams in the stack grant
    // as if held directly: the action is allowed when any of the user's roles allows it.
    let own = match (&user.stack, user.org) {
        (Some(role), _) => Some(role.clone()),
        (None, Some(OrgRole::Owner | OrgRole::Admin)) => {
            Some(StackRole::Builtin(BuiltinRole::Admin))
        }
        (None, _) => None,
    };
    let mut first_denial = None;
    for role in own.iter().chain(user.teams.iter()) {
        let d = match role {
            StackRole::Owner => Ok(()),
            StackRole::Builtin(b) => builtin_allows(*b, action),
            StackRole::Custom(rules) => custom_allows(rules, action),
        };
        match d {
            Ok(()) => return Ok(()),
            Err(d) => {
                first_denial.get_or_insert(d);
            }
        }
    }
    match first_denial {
        Some(d) => Err(d),
        None => deny("ROLE", "You do not have access to this stack."),
    }
}

fn role_denial(role: &str, action: &Action) -> Result<(), Denial> {
    let (rule, message) = match action.module {
        Module::ManagementTokens => (
            "MT-5",
            format!(
                "Only the stack owner and admins can manage management tokens; your role is {role}."
            ),
        ),
        _ => (
            "ROLE",
            format!(
                "Your role ({role}) does not allow {} on {}.",
                op_words(action.op),
                action.module.scope_name()
            ),
        ),
    };
    Err(Denial { rule, message })
}

fn op_words(op: Op) -> &'static str {
    match op {
        Op::Read => "read",
        Op::Create => "create",
        Op::Update => "update",
        Op::Delete => "delete",
        Op::Publish => "publish",
        Op::Share => "inviting users",
        Op::Unshare => "removing users",
        Op::Decide => "deciding publish requests",
        Op::Transfer => "transferring ownership",
    }
}

fn builtin_allows(role: BuiltinRole, action: &Action) -> Result<(), Denial> {
    use Module::*;
    let read = action.op == Op::Read;
    let allowed = match role {
        BuiltinRole::Admin => !matches!(
            (action.module, action.op),
            (Stack, Op::Delete) | (Stack, Op::Create) | (Stack, Op::Transfer)
        ),
        BuiltinRole::Developer => match action.module {
            Stack | StackSettings | StackUsers | Roles | Workflows => read,
            ManagementTokens | Organization | UserSession | Teams | OrgAuditLog | OrgSso => false,
            PublishRequests => true,
            DeliveryTokens | Environments | Locales | ContentTypes | GlobalFields | Entries
            | Assets | Branches | BranchAliases | Webhooks | AuditLog | Labels | Releases
            | Extensions | Taxonomies | PublishQueue => true,
        },
        BuiltinRole::ContentManager => match action.module {
            Entries | Assets | Releases | PublishRequests | PublishQueue => true,
            Labels => true,
            Stack | StackUsers | Roles | Environments | Locales | ContentTypes | GlobalFields
            | Branches | BranchAliases | Workflows | Extensions | Taxonomies => read,
            _ => false,
        },
    };
    if allowed {
        Ok(())
    } else {
        role_denial(role.name(), action)
    }
}

fn flag(v: Option<&Value>, key: &str) -> bool {
    v.and_then(|v| v.get(key)).and_then(Value::as_bool) == Some(true)
}

fn op_key(op: Op) -> &'static str {
    match op {
        Op::Read => "read",
        Op::Create => "create",
        Op::Update => "update",
        Op::Delete => "delete",
        _ => "publish",
    }
}

fn names_target(rule: &Value, list_key: &str, target: Option<&str>) -> bool {
    match rule.get(list_key).and_then(Value::as_array) {
        None => true,
        Some(list) => list.iter().any(|v| match v.as_str() {
            Some("$all") => true,
            Some(uid) => target == Some(uid),
            None => false,
        }),
    }
}

/// Custom roles: Contentstack's rule objects. `content_type` rules grant on content types
/// through `acl` and on their entries through `acl.sub_acl`; other modules grant through
/// `acl.{read,create,update,delete,publish}`. Custom roles never manage tokens, settings,
/// stack membership or the stack itself beyond reading it.
fn custom_allows(rules: &[Value], action: &Action) -> Result<(), Denial> {
    use Module::*;
    let key = op_key(action.op);
    let allowed = match action.module {
        Stack | StackUsers | Roles if action.op == Op::Read => true,
        Stack | StackSettings | StackUsers | Roles | ManagementTokens | DeliveryTokens
        | Organization | UserSession | PublishRequests | Teams | OrgAuditLog | OrgSso => false,
        Entries => rules.iter().any(|r| {
            r.get("module").and_then(Value::as_str) == Some("content_type")
                && names_target(r, "content_types", action.content_type.as_deref())
                && flag(r.get("acl").and_then(|a| a.get("sub_acl")), key)
        }),
        module => rules.iter().any(|r| {
            let named = r.get("module").and_then(Value::as_str) == Some(module.scope_name())
                || (module == Assets && r.get("module").and_then(Value::as_str) == Some("folder"));
            let target_ok = module != ContentTypes
                || names_target(r, "content_types", action.content_type.as_deref());
            named && target_ok && flag(r.get("acl"), key)
        }),
    };
    if allowed {
        Ok(())
    } else {
        role_denial("a custom role", action)
    }
}

/// The people a workflow rule names: user uids and role uids (`$all` in `users` means anyone).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Named {
    pub users: Vec<String>,
    pub roles: Vec<String>,
}

impl Named {
    /// Reads `{"users": [...], "roles": [...]}`; a user or role may be a uid string or an object
    /// with a `uid`.
    pub fn from_json(v: &Value) -> Named {
        let list = |key: &str| -> Vec<String> {
            v.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| {
                    x.as_str()
                        .or_else(|| x.get("uid").and_then(Value::as_str))
                        .map(str::to_string)
                })
                .collect()
        };
        Named {
            users: list("users"),
            roles: list("roles"),
        }
    }

    fn includes(&self, person: &Person) -> bool {
        self.users.iter().any(|u| u == "$all" || *u == person.uid)
            || person.role_uids.iter().any(|r| self.roles.contains(r))
    }

    fn everyone(&self) -> bool {
        self.users.iter().any(|u| u == "$all")
    }
}

/// The user behind a request, for the workflow rules that name people.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub uid: String,
    /// The uids of the user's roles in the stack.
    pub role_uids: Vec<String>,
}

fn is_owner_or_admin(subject: &Subject) -> bool {
    matches!(
        subject,
        Subject::User(UserAccess {
            stack: Some(StackRole::Owner | StackRole::Builtin(BuiltinRole::Admin)),
            ..
        })
    )
}

/// WF-1: accepting or rejecting a publish request. The module decision comes first (MT-9: never
/// a management token; role rules for users); then only the rule's approvers decide.
pub fn decide_approval(
    subject: &Subject,
    person: Option<&Person>,
    approvers: &Named,
    rule_uid: &str,
) -> Result<(), Denial> {
    decide(subject, &Action::new(Module::PublishRequests, Op::Decide))?;
    match person {
        Some(p) if approvers.includes(p) => Ok(()),
        _ => deny(
            "WF-1",
            format!("Only the approvers of publish rule '{rule_uid}' can accept or reject this request."),
        ),
    }
}

/// WF-2: publishing directly where a publish rule applies. Only the rule's approvers may skip
/// the request, and not when the rule disables approver publishing; everyone else (every
/// management token included) sends a publish request instead.
pub fn may_skip_approval(
    subject: &Subject,
    person: Option<&Person>,
    approvers: &Named,
    disable_approver_publishing: bool,
) -> bool {
    !disable_approver_publishing
        && matches!(subject, Subject::User(_))
        && person.is_some_and(|p| approvers.includes(p))
}

/// WF-3: moving an entry into a workflow stage. Stack owners and admins always may; others when
/// the stage's transition rule names them (user or role); a management token only when the
/// stage allows all users (it is nobody in particular).
pub fn decide_transition(
    subject: &Subject,
    person: Option<&Person>,
    allowed: &Named,
    stage: &str,
) -> Result<(), Denial> {
    let ok = match subject {
        Subject::ManagementToken(_) => allowed.everyone(),
        Subject::User(_) => {
            is_owner_or_admin(subject) || person.is_some_and(|p| allowed.includes(p))
        }
        Subject::DeliveryToken(_) => false,
    };
    if ok {
        return Ok(());
    }
    let who = if matches!(subject, Subject::ManagementToken(_)) {
        "A management token can move entries only into stages open to all users"
    } else {
        "You are not allowed"
    };
    deny(
        "WF-3",
        format!("{who}: the transition rule of stage '{stage}' does not include you."),
    )
}

/// A workflow stage's `entry_lock`: who may still edit entries that sit in the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryLock {
    /// `$none`: the stage locks nothing.
    None,
    /// `$others`: only the people the stage names (its users and roles) may edit.
    Others,
    /// `$all`: nobody but stack owners and admins may edit.
    All,
}

impl EntryLock {
    /// Reads a stage's `entry_lock`; a missing or unknown value locks nothing.
    pub fn from_stage(stage: &Value) -> EntryLock {
        match stage.get("entry_lock").and_then(Value::as_str) {
            Some("$others") => EntryLock::Others,
            Some("$all") => EntryLock::All,
            _ => EntryLock::None,
        }
    }
}

/// WF-4: changing an entry (update, delete, unlocalize, version names, metadata) while it sits
/// in a workflow stage that locks it. Stack owners and admins always may (as Contentstack's
/// superusers do). Under `$others`, the people the stage names may; a management token only
/// when the stage is open to all users (it is nobody in particular). Under `$all`, nobody else.
/// The module decision (roles, token scopes) is made before this one.
pub fn decide_entry_lock(
    subject: &Subject,
    person: Option<&Person>,
    lock: EntryLock,
    stage_people: &Named,
    stage: &str,
) -> Result<(), Denial> {
    if lock == EntryLock::None || is_owner_or_admin(subject) {
        return Ok(());
    }
    let named = match subject {
        Subject::ManagementToken(_) => stage_people.everyone(),
        Subject::User(_) => person.is_some_and(|p| stage_people.includes(p)),
        Subject::DeliveryToken(_) => false,
    };
    if lock == EntryLock::Others && named {
        return Ok(());
    }
    let why = match lock {
        EntryLock::All => "locks entries for everyone but stack owners and admins",
        _ => "locks entries for everyone it does not name",
    };
    deny(
        "WF-4",
        format!(
            "The entry is in the workflow stage '{stage}', which {why}; it cannot be changed now."
        ),
    )
}

#[cfg(test)]
mod tests;
