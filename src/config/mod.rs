//! The TOML configuration: its schema (DESIGN.md §2), defaults and validation.
//!
//! [`Config::load`] reads and fully validates a file (or the embedded default) before
//! anything binds a port. Unknown keys are errors; every error names the file, the
//! line and column when known, and the key path (see [`ConfigError`]). Relative paths
//! in the file (`script`, `routes_file`, global script `file`, `script_dir`) are
//! resolved against the process's current working directory.

mod error;
pub(crate) mod types;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use error::{ConfigError, KeyPath, PathSeg};
pub use types::{Cidr, DEFAULT_SIP_PORT, Gateway, SipStatus};

use error::{line_col, locate, one_line};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: listeners, mode, admin API.
    pub server: ServerConfig,
    /// `[sip]`: protocol limits (all optional).
    #[serde(default)]
    pub sip: SipConfig,
    /// `[proxy]`: proxy-mode behaviour (all optional; unused in redirect mode).
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// `[[carriers]]`.
    #[serde(default)]
    pub carriers: Vec<CarrierConfig>,
    /// `[[customers]]`.
    #[serde(default)]
    pub customers: Vec<CustomerConfig>,
    /// `[[global_scripts]]`.
    #[serde(default)]
    pub global_scripts: Vec<GlobalScriptConfig>,
    /// Where this config came from: the file path as given, or `<embedded default>`.
    #[serde(skip)]
    pub source: String,
}

/// How a routed call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Stateful proxy: forward the INVITE with serial failover.
    #[default]
    Proxy,
    /// Answer `302 Moved Temporarily` with one Contact per egress entry.
    Redirect,
}

impl Mode {
    /// `proxy` / `redirect`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Proxy => "proxy",
            Mode::Redirect => "redirect",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// UDP listen addresses.
    #[serde(default)]
    pub listen_udp: Vec<SocketAddr>,
    /// TCP listen addresses.
    #[serde(default)]
    pub listen_tcp: Vec<SocketAddr>,
    /// Proxy or redirect.
    #[serde(default)]
    pub mode: Mode,
    /// Admin HTTP API / metrics listener; none = no admin API.
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// Name of the environment variable that holds the admin bearer token.
    #[serde(default = "default_admin_token_env")]
    pub admin_token_env: String,
    /// Where uploaded scripts are persisted (versioned).
    #[serde(default = "default_script_dir")]
    pub script_dir: PathBuf,
    /// Our name: `data.routing.server` and the `Server` / `User-Agent` header value.
    #[serde(default = "default_server_name")]
    pub server_name: String,
    /// Proxy mode: the IP written in Via and Record-Route instead of the
    /// listeners' own (NAT, or listeners bound to `0.0.0.0`/`::`), same
    /// family only. Unset: the bound address; a wildcard becomes the
    /// address of the interface holding the default route.
    #[serde(default)]
    pub advertised_ip: Option<std::net::IpAddr>,
    /// Threads running routing scripts, 1..=256. Default: one per CPU core.
    #[serde(default)]
    pub script_workers: Option<usize>,
    /// New calls that may wait for a script worker, 0..=1000000; beyond it
    /// calls are refused with 503 at once. Default 1024.
    #[serde(default = "default_script_queue")]
    pub script_queue: usize,
    /// Run routing scripts on the SIP I/O threads themselves (as Kamailio's
    /// worker processes run their Lua) instead of handing each call to the
    /// script pool: two thread hand-offs less per call; a script then holds
    /// its I/O thread for up to its `timeout_ms`. Default false.
    #[serde(default)]
    pub script_inline: bool,
    /// On SIGTERM/SIGINT: new INVITEs get 503 (Retry-After) while
    /// transactions in progress finish, for at most this many seconds,
    /// 0..=3600. Default 30.
    #[serde(default = "default_shutdown_grace_s")]
    pub shutdown_grace_s: u64,
}

fn default_shutdown_grace_s() -> u64 {
    30
}

fn default_script_queue() -> usize {
    1024
}

fn default_admin_token_env() -> String {
    "SIPFORGE_ADMIN_TOKEN".to_string()
}
fn default_script_dir() -> PathBuf {
    PathBuf::from("scripts")
}
fn default_server_name() -> String {
    "sipforge".to_string()
}

/// `[sip]`: protocol limits. Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Largest accepted SIP message (bytes), 512..=1048576. Default 65535.
    pub max_message_bytes: usize,
    /// Most header fields in one message, 16..=4096. Default 128.
    pub max_headers: usize,
    /// Longest start line or header line (bytes), 256..=1048576. Default 8192.
    pub max_line_bytes: usize,
    /// Most concurrent inbound TCP connections, 1..=1000000. Default 4096.
    pub tcp_max_connections: usize,
    /// Seconds an idle TCP connection is kept, 1..=86400. Default 300.
    pub tcp_idle_timeout_secs: u64,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            max_message_bytes: 65535,
            max_headers: 128,
            max_line_bytes: 8192,
            tcp_max_connections: 4096,
            tcp_idle_timeout_secs: 300,
        }
    }
}

/// `[proxy]`: stateful proxy behaviour (DESIGN.md §6). Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Final responses that move a call to its next egress route: codes
    /// (`"503"`) or classes (`"5xx"`). Default `["408", "5xx", "6xx"]`.
    pub failover_on: Vec<String>,
    /// Exceptions to `failover_on` (a callee's definite answer). Default `["603"]`.
    pub no_failover_on: Vec<String>,
    /// An attempt with no response at all (not even 100) for this long fails
    /// over to the next route, ms, 100..=32000. Default 4000.
    pub attempt_timeout_ms: u64,
    /// An attempt that rings (1xx) without a final answer for this long is
    /// cancelled and fails over (RFC 3261 timer C), ms, 1000..=600000. Default 120000.
    pub ring_timeout_ms: u64,
    /// Whether failover continues after an 18x was relayed upstream (`true`),
    /// or a relayed 18x commits the call to that route (`false`). A relayed
    /// 2xx always ends failover. Default true.
    pub failover_after_ringing: bool,
    /// Most transactions held at once, 16..=10000000; beyond it new calls get
    /// 503. Default 200000.
    pub max_transactions: usize,
    /// Most dialogs (answered calls) tracked at once, 16..=10000000. A 2xx
    /// beyond it is still relayed, but the dialog's BYE will get 481.
    /// Default 200000.
    pub max_dialogs: usize,
    /// A dialog with no in-dialog request for this long is forgotten (its
    /// later requests get 481), s, 60..=604800. Default 43200 (12 h, as
    /// Kamailio's dialog module).
    pub dialog_idle_timeout_s: u64,
    /// How long a finished transaction is kept to absorb retransmissions
    /// (RFC 3261 timers D and J on UDP, RFC 6026 timers L and M), ms,
    /// 100..=64000. The RFCs say 64·T1 (32 s); the default is 5000, like
    /// Kamailio's wait timer, so that the table holds ~5 s of calls, not 32.
    pub linger_ms: u64,
    /// RFC 3261 T1 (RTT estimate), ms, 50..=5000. Default 500.
    pub t1_ms: u64,
    /// RFC 3261 T2 (largest retransmit interval), ms, >= t1_ms, ..=60000. Default 4000.
    pub t2_ms: u64,
    /// RFC 3261 T4 (how long a message stays in the network), ms, 100..=60000. Default 5000.
    pub t4_ms: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            failover_on: vec!["408".into(), "5xx".into(), "6xx".into()],
            no_failover_on: vec!["603".into()],
            attempt_timeout_ms: 4000,
            ring_timeout_ms: 120_000,
            failover_after_ringing: true,
            max_transactions: 200_000,
            max_dialogs: 200_000,
            dialog_idle_timeout_s: 43_200,
            linger_ms: 5000,
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
        }
    }
}

impl ProxyConfig {
    /// Whether a final response `code` moves the call to the next route.
    /// Both lists are validated at load (`validate.rs`).
    pub fn fails_over(&self, code: u16) -> bool {
        let hit = |list: &[String]| list.iter().any(|p| status_pattern_matches(p, code));
        hit(&self.failover_on) && !hit(&self.no_failover_on)
    }
}

/// `"503"` matches 503; `"5xx"` matches 500..=599.
pub(crate) fn status_pattern_matches(pattern: &str, code: u16) -> bool {
    let p = pattern.as_bytes();
    match p {
        [c, b'x' | b'X', b'x' | b'X'] if c.is_ascii_digit() => code / 100 == u16::from(c - b'0'),
        _ => pattern.parse::<u16>() == Ok(code),
    }
}

/// `[[carriers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierConfig {
    /// Unique id (`[A-Za-z0-9_.-]{1,64}`), referenced by routes.
    pub id: String,
    /// Gateways, tried in written order.
    pub gateways: Vec<Gateway>,
}

/// One inline route of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Digits (`0-9 * #`); a leading `+` is stripped during validation.
    pub prefix: String,
    /// Carrier ids in the order they are tried.
    pub carriers: Vec<String>,
}

/// `[[customers]]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerConfig {
    /// Unique id (`[A-Za-z0-9_.-]{1,64}`).
    pub id: String,
    /// Trunk ACL: source networks this customer's calls come from.
    pub sources: Vec<Cidr>,
    /// Routing script (`.js` or `.lua`), if any.
    #[serde(default)]
    pub script: Option<PathBuf>,
    /// Script time budget in milliseconds, 1..=10000. Default 50.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Answer when the script times out. Default `503 Service Unavailable`.
    #[serde(default = "default_unavailable")]
    pub timeout_action: SipStatus,
    /// Memory cap of the script's VM in MiB, 1..=1024. Default 16. Exceeding
    /// it stops the script like a timeout (`timeout_action`).
    #[serde(default = "default_script_memory_mb")]
    pub script_memory_mb: u32,
    /// New calls per second; none = unlimited.
    #[serde(default)]
    pub cps_limit: Option<u32>,
    /// Answer when `cps_limit` is exceeded. Default `503 Service Unavailable`.
    #[serde(default = "default_unavailable")]
    pub cps_limit_action: SipStatus,
    /// Concurrent calls; none = unlimited.
    #[serde(default)]
    pub channels: Option<u32>,
    /// Answer when `channels` is exceeded. Default `486 Busy Here`.
    #[serde(default = "default_busy")]
    pub channels_action: SipStatus,
    /// Merged into the script's `data` at the top level.
    #[serde(default)]
    pub vars: toml::Table,
    /// Visible to the script only as `ctx.secrets`. Never logged (`Debug` redacts values).
    #[serde(default)]
    pub secrets: toml::Table,
    /// Inline routes.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// CSV route file (`prefix,carrier[,priority,weight]`), merged with `routes`.
    #[serde(default)]
    pub routes_file: Option<PathBuf>,
}

fn default_timeout_ms() -> u64 {
    50
}
fn default_script_memory_mb() -> u32 {
    16
}
fn default_unavailable() -> SipStatus {
    SipStatus::new(503, "Service Unavailable")
}
fn default_busy() -> SipStatus {
    SipStatus::new(486, "Busy Here")
}

impl fmt::Debug for CustomerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret_keys: Vec<&str> = self.secrets.keys().map(String::as_str).collect();
        f.debug_struct("CustomerConfig")
            .field("id", &self.id)
            .field("sources", &self.sources)
            .field("script", &self.script)
            .field("timeout_ms", &self.timeout_ms)
            .field("timeout_action", &self.timeout_action)
            .field("script_memory_mb", &self.script_memory_mb)
            .field("cps_limit", &self.cps_limit)
            .field("cps_limit_action", &self.cps_limit_action)
            .field("channels", &self.channels)
            .field("channels_action", &self.channels_action)
            .field("vars", &self.vars)
            .field("secrets", &format_args!("<redacted: {secret_keys:?}>"))
            .field("routes", &self.routes)
            .field("routes_file", &self.routes_file)
            .finish()
    }
}

/// When a global script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Before the customer's script.
    First,
    /// After the customer's script.
    Last,
    /// Not run.
    Disabled,
}

impl Priority {
    /// `first` / `last` / `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::First => "first",
            Priority::Last => "last",
            Priority::Disabled => "disabled",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[[global_scripts]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalScriptConfig {
    /// Unique name (`[A-Za-z0-9_.-]{1,64}`).
    pub name: String,
    /// Script file (`.js` or `.lua`); must exist unless `priority = "disabled"`.
    pub file: PathBuf,
    /// `first`, `last` or `disabled`.
    pub priority: Priority,
}

impl Config {
    /// The embedded default configuration (`config/sipforge.toml`).
    pub const DEFAULT_TOML: &'static str = include_str!("../../config/sipforge.toml");

    /// The `source` of a config loaded from [`Config::DEFAULT_TOML`].
    pub const EMBEDDED_SOURCE: &'static str = "<embedded default>";

    /// Loads and fully validates. `None` = the embedded default.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::from_toml(Config::DEFAULT_TOML, Config::EMBEDDED_SOURCE),
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| ConfigError::read(p.display(), &e))?;
                Config::from_toml(&text, &p.display().to_string())
            }
        }
    }

    /// Parses and fully validates `text`; `origin` names it in errors and becomes
    /// [`Config::source`].
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text)
            .map_err(|e| toml_error(text, origin, KeyPath::root(), &e))?;
        let mut cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = KeyPath::from_serde(e.path());
            toml_error(text, origin, path, e.inner())
        })?;
        cfg.source = origin.to_string();
        validate::validate(&mut cfg).map_err(|(path, message)| {
            let position = locate(text, &path).map(|(span, _)| line_col(text, span.start));
            ConfigError::Invalid {
                file: origin.to_string(),
                position,
                key: path.to_string(),
                message,
            }
        })?;
        tracing::debug!(
            source = origin,
            carriers = cfg.carriers.len(),
            customers = cfg.customers.len(),
            global_scripts = cfg.global_scripts.len(),
            "configuration validated"
        );
        Ok(cfg)
    }

    /// Index of the customer with this id.
    pub fn customer_index(&self, id: &str) -> Option<usize> {
        self.customers.iter().position(|c| c.id == id)
    }

    /// Index of the carrier with this id.
    pub fn carrier_index(&self, id: &str) -> Option<usize> {
        self.carriers.iter().position(|c| c.id == id)
    }
}

/// Converts a `toml` error (syntax or deserialization) into a [`ConfigError`].
fn toml_error(text: &str, origin: &str, path: KeyPath, err: &toml::de::Error) -> ConfigError {
    let mut path = path;
    let mut message = one_line(err.message());
    if message == "invalid socket address syntax" {
        message.push_str(r#"; expected "ip:port", e.g. "0.0.0.0:5060" or "[::]:5060""#);
    }
    // An unknown key is reported at its parent; name the key itself.
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(end) = rest.find('`')
    {
        let key = &rest[..end];
        if !matches!(path.segments().last(), Some(PathSeg::Key(k)) if k == key) {
            path = path.key(key);
        }
    }
    // toml reports errors inside arrays at the array; point at the element instead.
    let exact = || {
        locate(text, &path)
            .filter(|(_, whole)| *whole)
            .map(|(s, _)| s)
    };
    let span = match (err.span(), path.segments().last()) {
        (Some(s), Some(PathSeg::Index(_))) => Some(exact().unwrap_or(s)),
        (Some(s), _) => Some(s),
        (None, _) => locate(text, &path).map(|(s, _)| s),
    };
    ConfigError::Invalid {
        file: origin.to_string(),
        position: span.map(|s| line_col(text, s.start)),
        key: path.to_string(),
        message,
    }
}
