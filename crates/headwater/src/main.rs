//! `headwater`: the server and its operator commands.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use headwater_api::admin::{self, OrgChoice};
use headwater_api::state::{EventsConfig, LoginConfig};
use headwater_api::{AppState, ServerConfig};
use headwater_core::policy::OrgRole;
use headwater_core::throttle::Policy;
use headwater_store::repo::tokens::WhenFull;
use headwater_store::Db;
use std::net::SocketAddr;

/// mimalloc serves the server's many small, short-lived allocations (request and response
/// headers, JSON values) with less time in the allocator than the system's malloc; see
/// BENCHMARKS.md, "Round trips and the allocator".
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_DATABASE_URL: &str = "sqlite://./headwater-data/headwater.db";

/// Headwater: a self-hosted headless CMS server speaking the Contentstack Content Management API.
#[derive(Parser)]
#[command(name = "headwater", version, about)]
struct Cli {
    /// Database: sqlite://PATH (embedded, the default) or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, env = "HEADWATER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    /// Log lines as text, or as JSON objects (one a line, with the request's span: method,
    /// path and request_id) for a log collector.
    #[arg(long, global = true, env = "HEADWATER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The key two-factor secrets are sealed with at rest (32 random bytes, base64). Created
    /// owner-only on first use when missing. Every instance on one database needs the same
    /// key; HEADWATER_SECRET_KEY (the key itself, base64) takes precedence over the file.
    #[arg(
        long,
        global = true,
        env = "HEADWATER_SECRET_KEY_FILE",
        default_value = "./headwater-data/secret.key"
    )]
    secret_key_file: std::path::PathBuf,

    #[command(subcommand)]
    command: Command,
}

/// The sealing key: `HEADWATER_SECRET_KEY` when set, else the key file (created when missing).
fn seal_key(file: &std::path::Path) -> Result<headwater_core::sealing::SealKey> {
    use headwater_core::sealing::SealKey;
    if let Ok(text) = std::env::var("HEADWATER_SECRET_KEY") {
        return SealKey::from_base64(&text)
            .map_err(|e| anyhow::anyhow!("HEADWATER_SECRET_KEY: {e}"));
    }
    match std::fs::read_to_string(file) {
        Ok(text) => {
            SealKey::from_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SealKey::generate();
            write_owner_only(file, key.to_base64().as_bytes())
                .with_context(|| format!("creating the secret key file {}", file.display()))?;
            tracing::info!(file = %file.display(), "created the secret key file (keep it with backups of the database)");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", file.display())),
    }
}

/// Writes a new file readable by its owner only (in a folder created owner-only).
fn write_owner_only(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }
    #[cfg(not(unix))]
    {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::File::create_new(path)?;
        f.write_all(bytes)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the CMA server (migrations are applied first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organizations (SSO strict mode, rate limits, token maximum).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage stacks (the per-stack management-token maximum).
    #[command(subcommand)]
    Stack(StackCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HEADWATER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Also serve the Content Delivery API at `/v3/…` on this address (it is always at
    /// `/cda/v3/…` on the main address).
    #[arg(long, env = "HEADWATER_CDA_LISTEN")]
    cda_listen: Option<SocketAddr>,
    /// Read requests per second an organization may make through management tokens, unless
    /// the organization has its own limit.
    #[arg(long, env = "HEADWATER_ORG_READ_RPS", default_value_t = 10)]
    org_read_rps: u32,
    /// Write requests per second (POST/PUT/DELETE), likewise.
    #[arg(long, env = "HEADWATER_ORG_WRITE_RPS", default_value_t = 10)]
    org_write_rps: u32,
    /// Management tokens a stack may hold, unless its stack or organization says otherwise.
    #[arg(long, env = "HEADWATER_MAX_MANAGEMENT_TOKENS", default_value_t = 30)]
    max_management_tokens: i64,
    /// What creating one token more than the maximum does: refuse it, or expire the oldest.
    #[arg(long, env = "HEADWATER_WHEN_TOKENS_FULL", value_enum, default_value_t = WhenFullArg::Refuse)]
    when_tokens_full: WhenFullArg,
    /// The largest JSON request body accepted, in bytes.
    #[arg(long, env = "HEADWATER_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// The largest asset upload accepted, in bytes.
    #[arg(long, env = "HEADWATER_MAX_UPLOAD_BYTES", default_value_t = 100 * 1024 * 1024)]
    max_upload_bytes: usize,
    /// Folder where asset files are stored.
    #[arg(
        long,
        env = "HEADWATER_ASSETS_DIR",
        default_value = "./headwater-data/assets"
    )]
    assets_dir: std::path::PathBuf,
    /// The URL clients use to reach this server, for asset download URLs
    /// (default: taken from each request's Host header).
    #[arg(long, env = "HEADWATER_PUBLIC_URL")]
    public_url: Option<String>,
    /// A separate origin for asset files (e.g. `https://files.example.com`) that reaches this
    /// server: asset `url`s use it, and downloads asked of another host are redirected to it,
    /// so uploaded files never share the API's origin.
    #[arg(long, env = "HEADWATER_ASSETS_PUBLIC_URL")]
    assets_public_url: Option<String>,
    /// Seconds a client may take to send a request's headers (and to start its next request
    /// on a kept-alive connection).
    #[arg(long, env = "HEADWATER_HEADER_READ_TIMEOUT", default_value_t = 30.0)]
    header_read_timeout: f64,
    /// Seconds a request body may pause before the request fails.
    #[arg(long, env = "HEADWATER_BODY_IDLE_TIMEOUT", default_value_t = 30.0)]
    body_idle_timeout: f64,
    /// Seconds requests in flight may run on after SIGTERM or Ctrl-C before the server exits.
    #[arg(long, env = "HEADWATER_SHUTDOWN_GRACE", default_value_t = 30.0)]
    shutdown_grace: f64,
    /// Seconds before the first retry of a failed webhook delivery; each further retry waits
    /// twice as long (at most an hour).
    #[arg(long, env = "HEADWATER_WEBHOOK_RETRY_BASE", default_value_t = 30.0)]
    webhook_retry_base: f64,
    /// Attempts per webhook delivery before it is marked failed.
    #[arg(long, env = "HEADWATER_WEBHOOK_MAX_ATTEMPTS", default_value_t = 5)]
    webhook_max_attempts: i64,
    /// Timeout of one webhook delivery request, in seconds.
    #[arg(long, env = "HEADWATER_WEBHOOK_TIMEOUT", default_value_t = 10.0)]
    webhook_timeout: f64,
    /// An internal address range webhooks may be delivered to, e.g. 10.20.0.0/16 for an
    /// on-premises receiver (repeatable; the variable takes a comma-separated list). By
    /// default loopback, private, link-local and other internal addresses are refused.
    #[arg(
        long = "webhook-allow-cidr",
        env = "HEADWATER_WEBHOOK_ALLOW_CIDR",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    webhook_allow_cidr: Vec<headwater_api::outbound::Cidr>,
    /// An internal address range single sign-on may reach (an identity provider on your
    /// network), e.g. 10.20.0.0/16 (repeatable; the variable takes a comma-separated list).
    /// By default, as for webhooks, loopback, private and other internal addresses are refused.
    #[arg(
        long = "sso-allow-cidr",
        env = "HEADWATER_SSO_ALLOW_CIDR",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    sso_allow_cidr: Vec<headwater_api::outbound::Cidr>,
    /// A reverse proxy (address or range) whose X-Forwarded-For names the client, for
    /// management tokens bound to addresses (allowed_cidrs), token usage and the leak-report
    /// rate limit (repeatable; the variable takes a comma-separated list). Without it the
    /// header is ignored and the socket's peer address is the client.
    #[arg(
        long = "trusted-proxy",
        env = "HEADWATER_TRUSTED_PROXY",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    trusted_proxy: Vec<headwater_api::outbound::Cidr>,
    /// Seconds between writes of management-token usage counts to the database (they are
    /// also written at shutdown).
    #[arg(
        long,
        env = "HEADWATER_TOKEN_USAGE_FLUSH_INTERVAL",
        default_value_t = 60.0
    )]
    token_usage_flush_interval: f64,
    /// Leak reports (POST /v3/token-revocations) accepted per second from one client address.
    #[arg(long, env = "HEADWATER_TOKEN_REVOCATION_RPS", default_value_t = 1)]
    token_revocation_rps: u32,
    /// Days before a management token expires that its "expiring" notice is sent (tokens
    /// with is_email_notification_enabled).
    #[arg(long, env = "HEADWATER_TOKEN_NOTICE_DAYS", default_value_t = 7)]
    token_notice_days: i64,
    /// Seconds between scans for management tokens due an expiry notice.
    #[arg(
        long,
        env = "HEADWATER_TOKEN_NOTICE_INTERVAL",
        default_value_t = 3600.0
    )]
    token_notice_interval: f64,
    /// SMTP relay for expiry-notice emails (plain SMTP, no authentication). Without it,
    /// notices are webhook events only.
    #[arg(long, env = "HEADWATER_SMTP_HOST", requires = "smtp_from")]
    smtp_host: Option<String>,
    #[arg(long, env = "HEADWATER_SMTP_PORT", default_value_t = 25)]
    smtp_port: u16,
    /// Sender address of notice emails.
    #[arg(long, env = "HEADWATER_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, env = "HEADWATER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "HEADWATER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Serve HTTPS with a self-signed certificate for localhost, headwater.localhost, 127.0.0.1
    /// and ::1 (and the listen address), generated on first use and kept in
    /// --tls-self-signed-dir.
    #[arg(long, env = "HEADWATER_TLS_SELF_SIGNED", conflicts_with_all = ["tls_cert", "tls_key"])]
    tls_self_signed: bool,
    /// Folder of the self-signed certificate (self-signed-cert.pem is what clients trust).
    #[arg(
        long,
        env = "HEADWATER_TLS_SELF_SIGNED_DIR",
        default_value = "./headwater-data/tls"
    )]
    tls_self_signed_dir: std::path::PathBuf,
    /// Another DNS name or IP address for the self-signed certificate (repeatable).
    #[arg(long = "tls-self-signed-name", value_name = "NAME")]
    tls_self_signed_names: Vec<String>,
    /// Keep asset files in an S3-compatible bucket at this endpoint (e.g.
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`) instead of
    /// --assets-dir, which then holds only upload spool files. Credentials come from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN when set).
    #[arg(long, env = "HEADWATER_S3_ENDPOINT", requires = "s3_bucket")]
    s3_endpoint: Option<String>,
    /// The bucket (it must exist).
    #[arg(long, env = "HEADWATER_S3_BUCKET", requires = "s3_endpoint")]
    s3_bucket: Option<String>,
    /// The bucket's region, used in request signatures.
    #[arg(long, env = "HEADWATER_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// Path-style addressing (`endpoint/bucket/key`, as MinIO and most local servers need)
    /// instead of virtual-hosted (`bucket.endpoint/key`).
    #[arg(long, env = "HEADWATER_S3_PATH_STYLE")]
    s3_path_style: bool,
    /// Share rate limits between instances through this Redis (`redis://HOST:PORT[/DB]`):
    /// needed when several instances serve one database.
    #[arg(long, env = "HEADWATER_REDIS_URL")]
    redis_url: Option<String>,
    /// How many instances serve this database: while Redis is unreachable each counts this
    /// fraction of every rate limit in process (1: the full limit).
    #[arg(long, env = "HEADWATER_INSTANCES", default_value_t = 1)]
    instances: u32,
    /// Serve `/metrics` (Prometheus text), `/healthz` and `/readyz` on this address, for the
    /// operator's network only: /metrics has no authentication and is not on --listen.
    #[arg(long, env = "HEADWATER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Failed logins an email (registered or not) may have in 15 minutes before it is locked
    /// out; each further failure doubles the lockout, from 1 second up to --login-max-lockout.
    #[arg(long, env = "HEADWATER_LOGIN_FREE_FAILURES", default_value_t = 5)]
    login_free_failures: u32,
    /// Failed logins one client address (IPv6: its /64) may have in 15 minutes before it is
    /// locked out, whatever emails it tries.
    #[arg(
        long,
        env = "HEADWATER_LOGIN_ADDRESS_FREE_FAILURES",
        default_value_t = 50
    )]
    login_address_free_failures: u32,
    /// The longest login lockout, in seconds.
    #[arg(long, env = "HEADWATER_LOGIN_MAX_LOCKOUT", default_value_t = 900.0)]
    login_max_lockout: f64,
    /// Wrong two-factor codes a user may send in 15 minutes before two-factor login is locked
    /// out for them (30 seconds, doubling up to --login-max-lockout).
    #[arg(long, env = "HEADWATER_TFA_FREE_FAILURES", default_value_t = 5)]
    tfa_free_failures: u32,
    /// Seconds a login waits for a free password hasher (one per core) before it is answered
    /// 503 with Retry-After.
    #[arg(long, env = "HEADWATER_PASSWORD_HASH_WAIT", default_value_t = 10.0)]
    password_hash_wait: f64,
    /// Seconds an authtoken may go unused before it is refused (default 24 hours).
    #[arg(
        long,
        env = "HEADWATER_SESSION_IDLE_TIMEOUT",
        default_value_t = 86_400.0
    )]
    session_idle_timeout: f64,
    /// Seconds after login an authtoken is refused however recently it was used (default 30
    /// days).
    #[arg(long, env = "HEADWATER_SESSION_MAX_AGE", default_value_t = 2_592_000.0)]
    session_max_age: f64,
    /// Seconds a browser session (single sign-on cookie) may go unused before it is refused
    /// (default 2 hours).
    #[arg(
        long,
        env = "HEADWATER_BROWSER_SESSION_IDLE_TIMEOUT",
        default_value_t = 7_200.0
    )]
    browser_session_idle_timeout: f64,
    /// Seconds after sign-in a browser session is refused however recently it was used
    /// (default 12 hours).
    #[arg(
        long,
        env = "HEADWATER_BROWSER_SESSION_MAX_AGE",
        default_value_t = 43_200.0
    )]
    browser_session_max_age: f64,
}

/// The login, hashing and session settings of `serve`.
fn login_config(args: &ServeArgs) -> Result<LoginConfig> {
    let d = LoginConfig::default();
    let max_lockout = seconds(args.login_max_lockout, "--login-max-lockout")?;
    Ok(LoginConfig {
        account: Policy {
            free: args.login_free_failures.max(1),
            max_lockout,
            ..d.account
        },
        address: Policy {
            free: args.login_address_free_failures.max(1),
            max_lockout,
            ..d.address
        },
        tfa: Policy {
            free: args.tfa_free_failures.max(1),
            max_lockout: max_lockout.max(d.tfa.base_lockout),
            ..d.tfa
        },
        hash_wait: seconds(args.password_hash_wait, "--password-hash-wait")?,
        session_idle: seconds(args.session_idle_timeout, "--session-idle-timeout")?,
        session_max_age: seconds(args.session_max_age, "--session-max-age")?,
        browser_session_idle: seconds(
            args.browser_session_idle_timeout,
            "--browser-session-idle-timeout",
        )?,
        browser_session_max_age: seconds(
            args.browser_session_max_age,
            "--browser-session-max-age",
        )?,
    })
}

/// The S3 settings of `serve`, with credentials from the environment.
fn s3_config(args: &ServeArgs) -> Result<Option<headwater_api::storage::S3Config>> {
    let (Some(endpoint), Some(bucket)) = (&args.s3_endpoint, &args.s3_bucket) else {
        return Ok(None);
    };
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .with_context(|| format!("--s3-endpoint needs {name} in the environment"))
    };
    Ok(Some(headwater_api::storage::S3Config {
        endpoint: endpoint.clone(),
        bucket: bucket.clone(),
        region: args.s3_region.clone(),
        path_style: args.s3_path_style,
        credentials: headwater_core::sigv4::Credentials {
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY")?,
        },
        session_token: std::env::var("AWS_SESSION_TOKEN")
            .ok()
            .filter(|v| !v.is_empty()),
    }))
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum WhenFullArg {
    Refuse,
    ExpireOldest,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user, in a new organization they own (--org-name) or an existing one (--org-uid).
    Create {
        #[arg(long)]
        email: String,
        /// Prompted for when not given.
        #[arg(long, env = "HEADWATER_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// Name of a new organization the user will own.
        #[arg(long, conflicts_with = "org_uid")]
        org_name: Option<String>,
        /// Uid of an existing organization to join.
        #[arg(long)]
        org_uid: Option<String>,
        /// Role in the existing organization.
        #[arg(long, value_enum, default_value_t = OrgRoleArg::Member, requires = "org_uid")]
        org_role: OrgRoleArg,
    },
    /// Turn on two-factor (TOTP) login; prints the secret to enrol in an authenticator app.
    Enable2fa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OrgRoleArg {
    Admin,
    Member,
}

#[derive(Subcommand)]
enum SsoCommand {
    /// Print the organization's settings (never the client secret).
    Show {
        #[arg(long)]
        org_uid: String,
    },
    /// Set (or replace) the organization's OpenID Connect settings and turn it on. The
    /// issuer's discovery document ({issuer}/.well-known/openid-configuration) is fetched
    /// first. Register {--public-url}/sso/callback as the redirect URI at the provider.
    Set {
        #[arg(long)]
        org_uid: String,
        /// The provider's issuer identifier, e.g. https://login.example.com/realms/acme.
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// A file holding the client secret (kept sealed in the database); required the
        /// first time, the stored one is kept when left out.
        #[arg(long)]
        client_secret_file: Option<std::path::PathBuf>,
        /// Only addresses of this domain may sign in (repeatable; none: any address).
        #[arg(long)]
        email_domain: Vec<String>,
        /// The organization role a person signing in for the first time gets.
        #[arg(long, value_enum)]
        default_role: Option<OrgRoleArg>,
        /// A scope to ask for (repeatable; default openid, email, profile).
        #[arg(long)]
        scope: Vec<String>,
        /// The ID token claim holding the email address (default `email`).
        #[arg(long)]
        email_claim: Option<String>,
        /// Save the settings turned off.
        #[arg(long)]
        disabled: bool,
        /// An internal address range the provider may be reached at (as the server's
        /// --sso-allow-cidr; repeatable).
        #[arg(
            long = "sso-allow-cidr",
            env = "HEADWATER_SSO_ALLOW_CIDR",
            value_name = "CIDR",
            value_delimiter = ','
        )]
        sso_allow_cidr: Vec<headwater_api::outbound::Cidr>,
    },
    /// Turn single sign-on off (the settings are kept).
    Disable {
        #[arg(long)]
        org_uid: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Single sign-on (OpenID Connect) settings.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// Turn SSO strict mode on or off: members other than the owner cannot log in by password.
    SetSsoStrict {
        #[arg(long)]
        org_uid: String,
        #[arg(long, action = clap::ArgAction::Set)]
        strict: bool,
    },
    /// Set the organization's request limits and management-token maximum per stack.
    SetLimits {
        #[arg(long)]
        org_uid: String,
        #[arg(long)]
        read_rps: Option<i64>,
        #[arg(long)]
        write_rps: Option<i64>,
        #[arg(long)]
        max_management_tokens: Option<i64>,
        /// The longest expiry a management token may be given, in days (0 removes the limit).
        /// Checked when tokens are created and edited (rule MT-20).
        #[arg(long)]
        max_token_lifetime_days: Option<i64>,
        /// Whether management tokens may be created or kept without an expiry (rule MT-20).
        #[arg(long, action = clap::ArgAction::Set)]
        allow_never_expiring: Option<bool>,
    },
}

#[derive(Subcommand)]
enum StackCommand {
    /// Raise (or lower) one stack's management-token maximum; --clear returns to the default.
    SetTokenLimit {
        #[arg(long)]
        api_key: String,
        #[arg(long, required_unless_present = "clear")]
        max: Option<i64>,
        #[arg(long)]
        clear: bool,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEADWATER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .init(),
    }

    let db = Db::connect(&cli.database_url).await.with_context(|| {
        format!(
            "connecting to {}",
            headwater_store::db::redact(&cli.database_url)
        )
    })?;
    db.migrate().await.context("applying migrations")?;

    match cli.command {
        Command::Serve(args) => {
            let key = seal_key(&cli.secret_key_file)?;
            let sealed = headwater_api::admin::seal_tfa_secrets(&db, &key).await?;
            if sealed > 0 {
                tracing::info!(
                    users = sealed,
                    "sealed two-factor secrets stored in plain text"
                );
            }
            serve(db, *args, key).await
        }
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::User(cmd) => user(db, cmd, &cli.secret_key_file).await,
        Command::Org(cmd) => org(db, cmd, &cli.secret_key_file).await,
        Command::Stack(cmd) => stack(db, cmd).await,
    }
}

async fn serve(db: Db, args: ServeArgs, seal_key: headwater_core::sealing::SealKey) -> Result<()> {
    let mut c = db.reader().await?;
    let users = headwater_store::repo::users::count(&mut c).await?;
    drop(c);
    if users == 0 {
        println!(
            "This Headwater database has no users yet. Create the first one (it owns a new organization):\n\n    \
             headwater user create --email you@example.com --org-name \"My Org\"\n\n\
             (from the source folder: cargo run --release -- user create …)\n"
        );
    }
    ignore_file_size_signal();
    let tls = tls_config(&args)?;
    let login = login_config(&args)?;
    let config = ServerConfig {
        default_org_read_rps: args.org_read_rps.max(1),
        default_org_write_rps: args.org_write_rps.max(1),
        max_management_tokens: args.max_management_tokens.max(1),
        when_tokens_full: match args.when_tokens_full {
            WhenFullArg::Refuse => WhenFull::Refuse,
            WhenFullArg::ExpireOldest => WhenFull::ExpireOldest,
        },
        max_body_bytes: args.max_body_bytes,
        max_upload_bytes: args.max_upload_bytes,
        s3: s3_config(&args)?,
        assets_dir: args.assets_dir,
        public_url: args.public_url,
        assets_public_url: match args.assets_public_url {
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                anyhow::bail!("--assets-public-url must be an http:// or https:// URL")
            }
            other => other,
        },
        conn: headwater_api::serve::ConnLimits {
            header_read_timeout: seconds(args.header_read_timeout, "--header-read-timeout")?,
            body_idle_timeout: seconds(args.body_idle_timeout, "--body-idle-timeout")?,
            shutdown_grace: seconds(args.shutdown_grace, "--shutdown-grace")?,
        },
        events: EventsConfig {
            retry_base: seconds(args.webhook_retry_base, "--webhook-retry-base")?,
            max_attempts: args.webhook_max_attempts.max(1),
            request_timeout: seconds(args.webhook_timeout, "--webhook-timeout")?,
            notice_days: args.token_notice_days.max(0),
            notice_interval: seconds(args.token_notice_interval, "--token-notice-interval")?,
            smtp: match (args.smtp_host, args.smtp_from) {
                (Some(host), Some(from)) => Some(headwater_api::smtp::SmtpConfig {
                    host,
                    port: args.smtp_port,
                    from,
                }),
                _ => None,
            },
            ..EventsConfig::default()
        },
        tls: tls.is_some(),
        seal_key,
        login,
        webhook_allow_cidrs: args.webhook_allow_cidr,
        sso_allow_cidrs: args.sso_allow_cidr,
        sso_jwks_refresh_interval: std::time::Duration::from_secs(30),
        redis_url: args.redis_url,
        instances: args.instances.max(1),
        trusted_proxies: args.trusted_proxy,
        usage_flush_interval: seconds(
            args.token_usage_flush_interval,
            "--token-usage-flush-interval",
        )?,
        token_revocation_rps: args.token_revocation_rps.max(1),
    };
    if let Some(url) = &config.redis_url {
        headwater_api::shared_limits::Limiter::redis(url, config.instances)
            .map_err(|e| anyhow::anyhow!(e))?;
        tracing::info!(
            instances = config.instances,
            "rate limits are shared through Redis"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let storage =
        headwater_api::storage::Storage::from_config(&config).map_err(|e| anyhow::anyhow!(e))?;
    storage.check().await.map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!(storage = %storage.describe(), "asset storage");
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = ?db.backend(), tls = tls.is_some(), "Headwater is listening");
    println!(
        "Headwater CMA listening on {scheme}://{addr}/v3 (delivery API at {scheme}://{addr}/cda/v3)"
    );
    let state_grace = config.conn.shutdown_grace;
    let state = AppState::new(db.clone(), config);
    if let Some(cda) = args.cda_listen {
        let cda_listener = tokio::net::TcpListener::bind(cda)
            .await
            .with_context(|| format!("binding {cda}"))?;
        println!(
            "Headwater delivery API listening on {scheme}://{}/v3",
            cda_listener.local_addr()?
        );
        let app = headwater_api::delivery_app(state.clone());
        let cda_tls = tls.clone();
        let limits = state.config().conn;
        tokio::spawn(async move {
            let served =
                headwater_api::serve_router(cda_listener, app, cda_tls, limits, shutdown_signal())
                    .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "delivery listener stopped");
            }
        });
    }
    if let Some(m) = args.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(m)
            .await
            .with_context(|| format!("binding {m}"))?;
        println!(
            "Headwater metrics listening on http://{}/metrics",
            metrics_listener.local_addr()?
        );
        let app = headwater_api::ops::metrics_app(state.clone());
        let limits = state.config().conn;
        tokio::spawn(async move {
            let served =
                headwater_api::serve_router(metrics_listener, app, None, limits, shutdown_signal())
                    .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        });
    }
    match tls {
        Some(tls) => headwater_api::run_tls(listener, state, tls, shutdown_signal()).await?,
        None => headwater_api::run(listener, state, shutdown_signal()).await?,
    }
    // A request stuck past the grace period may still hold a connection: don't wait for it.
    let grace = state_grace;
    if tokio::time::timeout(grace, db.close()).await.is_err() {
        tracing::warn!("database connections still in use at exit");
    }
    tracing::info!("stopped");
    Ok(())
}

/// A file-size limit (`ulimit -f`) would otherwise kill the server with SIGXFSZ at the first
/// write past it. With the signal handled, such a write fails with EFBIG instead, and the
/// request that made it is answered 507 with nothing stored (SEC-8).
fn ignore_file_size_signal() {
    #[cfg(unix)]
    {
        const SIGXFSZ: i32 = 25;
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGXFSZ)) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        tracing::warn!("a write went past the file-size limit (SIGXFSZ)");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot handle SIGXFSZ"),
        }
    }
}

/// A positive number of seconds from a flag.
fn seconds(v: f64, flag: &str) -> Result<std::time::Duration> {
    if !(v.is_finite() && v > 0.0 && v < 1e9) {
        anyhow::bail!("{flag} must be a positive number of seconds");
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// The TLS configuration the flags ask for, if any; prints what a client needs to trust it.
fn tls_config(args: &ServeArgs) -> Result<Option<headwater_api::tls::TlsConfig>> {
    use headwater_api::tls::{SelfSigned, TlsConfig, SELF_SIGNED_CERT_FILE};
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let tls = TlsConfig::from_pem_files(cert, key)?;
        println!(
            "TLS certificate SHA-256 fingerprint: {}",
            tls.fingerprint_sha256
        );
        return Ok(Some(tls));
    }
    if !args.tls_self_signed {
        return Ok(None);
    }
    // The management SDK (and so csdx) refuses `localhost` and IP addresses as its host, so a
    // local name it accepts comes too: map it to 127.0.0.1 in /etc/hosts to use it.
    let mut names = vec![
        "localhost".to_string(),
        "headwater.localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ip = args.listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    for name in &args.tls_self_signed_names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let dir = &args.tls_self_signed_dir;
    let (tls, how) = TlsConfig::self_signed(dir, &names)?;
    let cert_file = dir.join(SELF_SIGNED_CERT_FILE);
    match how {
        SelfSigned::Generated => println!(
            "Generated a self-signed TLS certificate for {}: {}",
            names.join(", "),
            cert_file.display()
        ),
        SelfSigned::Reused => println!(
            "Using the self-signed TLS certificate {} (delete its folder for a new one)",
            cert_file.display()
        ),
    }
    println!(
        "TLS certificate SHA-256 fingerprint: {}",
        tls.fingerprint_sha256
    );
    println!(
        "Trust it in Node.js clients (csdx, @contentstack/management) with:\n\n    export NODE_EXTRA_CA_CERTS={}\n",
        cert_file.display()
    );
    Ok(Some(tls))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn user(db: Db, cmd: UserCommand, secret_key_file: &std::path::Path) -> Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            password,
            first_name,
            last_name,
            org_name,
            org_uid,
            org_role,
        } => {
            let password = match password {
                Some(p) => p,
                None => {
                    let p = rpassword::prompt_password("Password: ")?;
                    let again = rpassword::prompt_password("Password again: ")?;
                    if p != again {
                        bail!("the passwords differ");
                    }
                    p
                }
            };
            let choice = match (&org_name, &org_uid) {
                (_, Some(uid)) => OrgChoice::Existing {
                    uid,
                    role: match org_role {
                        OrgRoleArg::Admin => OrgRole::Admin,
                        OrgRoleArg::Member => OrgRole::Member,
                    },
                },
                (Some(name), None) => OrgChoice::New { name },
                (None, None) => OrgChoice::New {
                    name: "My Organization",
                },
            };
            let created =
                admin::create_user(&db, &email, &password, &first_name, &last_name, choice).await?;
            println!("user_uid: {}", created.user_uid);
            println!("organization_uid: {}", created.org_uid);
        }
        UserCommand::Enable2fa { email } => {
            let secret = admin::enable_2fa(&db, &seal_key(secret_key_file)?, &email).await?;
            println!("tfa_secret: {secret}");
            println!("Enrol this secret in an authenticator app; login now needs its 6-digit code as tfa_token.");
        }
    }
    Ok(())
}

async fn org(db: Db, cmd: OrgCommand, secret_key_file: &std::path::Path) -> Result<()> {
    match cmd {
        OrgCommand::Sso(SsoCommand::Show { org_uid }) => {
            match admin::sso_show(&db, &org_uid).await? {
                Some(cfg) => println!(
                    "{}",
                    serde_json::to_string_pretty(&headwater_api::sso::config_json(&cfg, None))?
                ),
                None => bail!("the organization {org_uid} has no single sign-on settings"),
            }
        }
        OrgCommand::Sso(SsoCommand::Set {
            org_uid,
            issuer,
            client_id,
            client_secret_file,
            email_domain,
            default_role,
            scope,
            email_claim,
            disabled,
            sso_allow_cidr,
        }) => {
            let client_secret = match client_secret_file {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            let input = headwater_api::sso::ConfigInput {
                issuer,
                client_id,
                client_secret,
                scopes: (!scope.is_empty()).then_some(scope),
                email_claim,
                allowed_domains: (!email_domain.is_empty()).then_some(email_domain),
                default_role: default_role.map(|r| match r {
                    OrgRoleArg::Admin => "admin".to_string(),
                    OrgRoleArg::Member => "member".to_string(),
                }),
                enabled: Some(!disabled),
            };
            let key = seal_key(secret_key_file)?;
            let cfg = admin::sso_set(&db, &key, &sso_allow_cidr, &org_uid, input).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&headwater_api::sso::config_json(&cfg, None))?
            );
            println!("Register {{--public-url}}/sso/callback as the redirect URI at the provider.");
        }
        OrgCommand::Sso(SsoCommand::Disable { org_uid }) => {
            if !admin::sso_disable(&db, &org_uid).await? {
                bail!("the organization {org_uid} has no single sign-on settings");
            }
            println!("single sign-on disabled (settings kept; `sso set` turns it on again)");
        }
        OrgCommand::SetSsoStrict { org_uid, strict } => {
            let ended = admin::set_sso_strict(&db, &org_uid, strict).await?;
            println!("sso strict mode: {strict}");
            if strict {
                println!("password sessions ended: {ended}");
            }
        }
        OrgCommand::SetLimits {
            org_uid,
            read_rps,
            write_rps,
            max_management_tokens,
            max_token_lifetime_days,
            allow_never_expiring,
        } => {
            admin::set_org_limits(&db, &org_uid, read_rps, write_rps, max_management_tokens)
                .await?;
            if max_token_lifetime_days.is_some() || allow_never_expiring.is_some() {
                admin::set_token_lifetime(
                    &db,
                    &org_uid,
                    max_token_lifetime_days,
                    allow_never_expiring,
                )
                .await?;
            }
            println!("limits updated");
        }
    }
    Ok(())
}

async fn stack(db: Db, cmd: StackCommand) -> Result<()> {
    match cmd {
        StackCommand::SetTokenLimit {
            api_key,
            max,
            clear,
        } => {
            let max = if clear { None } else { max };
            admin::set_stack_token_limit(&db, &api_key, max).await?;
            match max {
                Some(m) => println!("management token maximum for {api_key}: {m}"),
                None => println!("management token maximum for {api_key}: the default"),
            }
        }
    }
    Ok(())
}
