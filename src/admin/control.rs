//! What the admin API and SIGHUP change at run time, in one place: the
//! running configuration (reloaded whole: validated, routes built, scripts
//! compiled, then swapped into the pipeline atomically — a bad one is
//! refused with the reason and the running one stays), the script store
//! (uploads, rollbacks, deletes: validated first, stored durably, then the
//! pipeline's script set is rebuilt and swapped), and dry runs.
//!
//! Changes are serialized by one async mutex (they are rare and not on the
//! call path); calls read the pipeline's current generation without locks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Mutex;

use crate::config::{Config, CustomerConfig, Priority};
use crate::pipeline::Pipeline;
use crate::routing::Router;
use crate::script::set::compile_stored;
use crate::script::store::{Owner, ScriptStore, StoreError, Stored};
use crate::script::{
    CallCtx, CallData, Engine, Lang, Limits, Outcome, RunReport, Script, ScriptSet,
};

/// Why a change was refused; mapped to HTTP in `admin::api`.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The input is wrong (a script that does not compile or fails its
    /// sample call, a configuration that does not validate): 422.
    #[error("{0}")]
    Invalid(String),
    /// No such customer / script / version: 404.
    #[error("{0}")]
    NotFound(String),
    /// The request itself is malformed: 400.
    #[error("{0}")]
    BadRequest(String),
    /// Storage or internal failure: 500.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> ControlError {
        match e {
            StoreError::NoSuchVersion(_) => ControlError::NotFound(e.to_string()),
            StoreError::BadName(_) => ControlError::BadRequest(e.to_string()),
            StoreError::TooLarge { .. } | StoreError::TooMany => {
                ControlError::Invalid(e.to_string())
            }
            other => ControlError::Internal(other.to_string()),
        }
    }
}

/// The result of one dry run (`POST /api/v1/dry-run`, uploads).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRun {
    /// `continue` (data returned), `sip` (a SIP answer), `timeout`, `memory`, `error`.
    pub outcome: &'static str,
    /// The returned data, JSON-shaped as the script saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// `"NNN Reason"` when the script ended the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub console: Vec<String>,
    pub duration_us: u64,
}

impl DryRun {
    fn of(report: RunReport) -> DryRun {
        let mut out = DryRun {
            outcome: "continue",
            data: None,
            sip: None,
            error: None,
            console: report.console,
            duration_us: report.elapsed.as_micros() as u64,
        };
        match report.outcome {
            Outcome::Continue(_) => out.data = report.returned_json,
            Outcome::Reject { code, reason } => {
                out.outcome = "sip";
                out.sip = Some(format!("{code} {reason}"));
            }
            Outcome::Timeout => {
                out.outcome = "timeout";
                out.error = Some("the script ran past its time limit".into());
            }
            Outcome::MemoryExceeded => {
                out.outcome = "memory";
                out.error = Some("the script exceeded its memory limit".into());
            }
            Outcome::Failed { message } => {
                out.outcome = "error";
                out.error = Some(message);
            }
        }
        out
    }

    /// Whether an upload may go live after this sample call.
    fn acceptable(&self) -> bool {
        matches!(self.outcome, "continue" | "sip")
    }
}

/// Run-time control of a serving sidecar.
pub struct Control {
    config_path: Option<PathBuf>,
    config: ArcSwap<Config>,
    store: Arc<ScriptStore>,
    pipeline: Arc<Pipeline>,
    generation: std::sync::atomic::AtomicU64,
    lock: Mutex<()>,
}

impl Control {
    pub fn new(
        config_path: Option<PathBuf>,
        config: Config,
        store: ScriptStore,
        pipeline: Arc<Pipeline>,
    ) -> Control {
        Control {
            config_path,
            config: ArcSwap::from_pointee(config),
            store: Arc::new(store),
            pipeline,
            generation: std::sync::atomic::AtomicU64::new(1),
            lock: Mutex::new(()),
        }
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    pub fn store(&self) -> &ScriptStore {
        &self.store
    }

    fn next_generation(&self) -> u64 {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1
    }

    /// Re-reads the configuration file and swaps it in whole; `Err` leaves
    /// the running one. Returns the new generation.
    pub async fn reload(&self) -> Result<u64, ControlError> {
        let _g = self.lock.lock().await;
        let path = self.config_path.clone();
        let store = self.store.clone();
        let generation = self.next_generation();
        let built = tokio::task::spawn_blocking(move || -> Result<_, String> {
            let config = Config::load(path.as_deref()).map_err(|e| e.to_string())?;
            let router = Router::new(&config).map_err(|e| e.to_string())?;
            let scripts = ScriptSet::load_with_store(&config, &store, generation)
                .map_err(|e| e.to_string())?;
            Ok((config, router, scripts))
        })
        .await
        .map_err(|e| ControlError::Internal(e.to_string()))?
        .map_err(ControlError::Invalid)?;
        let (config, router, scripts) = built;
        self.pipeline.reload(&config, router, scripts);
        self.config.store(Arc::new(config));
        Ok(generation)
    }

    /// Rebuilds the script set from the running config and the store.
    async fn rebuild_scripts(&self) -> Result<(), ControlError> {
        let config = self.config();
        let store = self.store.clone();
        let generation = self.next_generation();
        let set = tokio::task::spawn_blocking(move || {
            ScriptSet::load_with_store(&config, &store, generation)
        })
        .await
        .map_err(|e| ControlError::Internal(e.to_string()))?
        .map_err(|e| ControlError::Internal(e.to_string()))?;
        self.pipeline.swap_scripts(set);
        Ok(())
    }

    fn customer(&self, id: &str) -> Result<CustomerConfig, ControlError> {
        self.config()
            .customers
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| {
                ControlError::NotFound(format!("no customer {id:?} in the configuration"))
            })
    }

    /// Validates `source` (parse, transpile, compile, one dry run on a
    /// sample call), stores it as a new version and activates it for new
    /// calls. The version and the sample call's result.
    pub async fn upload(
        &self,
        owner: Owner<'_>,
        lang: Lang,
        source: String,
        priority: Option<Priority>,
    ) -> Result<(u32, DryRun), ControlError> {
        let (limits, ctx, sample) = match owner {
            Owner::Customer(id) => {
                let c = self.customer(id)?;
                (
                    customer_limits(&c),
                    customer_ctx(&c),
                    self.sample_call(Some(&c)),
                )
            }
            Owner::Global(_) => (Limits::default(), anonymous_ctx(), self.sample_call(None)),
        };
        let name = match owner {
            Owner::Customer(id) => format!("{id}.{}", ext(lang)),
            Owner::Global(n) => format!("global:{n}.{}", ext(lang)),
        };
        let src = source.clone();
        let label = name.clone();
        let dry = tokio::task::spawn_blocking(move || -> Result<DryRun, ControlError> {
            let script = match lang {
                Lang::Js => Script::compile_js(&name, 0, &src),
                Lang::Lua => Script::compile_lua(&name, 0, &src),
            }
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
            let report = Engine::run_blocking(&[Arc::new(script)], sample, &ctx, &limits, true);
            Ok(DryRun::of(report))
        })
        .await
        .map_err(|e| ControlError::Internal(e.to_string()))??;
        if !dry.acceptable() {
            return Err(ControlError::Invalid(format!(
                "{label}: the sample call failed: {}",
                dry.error.clone().unwrap_or_default()
            )));
        }
        let _g = self.lock.lock().await;
        let version = self.store.put(owner, lang, &source)?;
        if let (Owner::Global(n), Some(p)) = (owner, priority) {
            self.store.set_priority(n, p)?;
        }
        self.store.activate(owner, version)?;
        self.rebuild_scripts().await?;
        Ok((version, dry))
    }

    /// Makes an existing version the active one.
    pub async fn rollback(&self, owner: Owner<'_>, version: u32) -> Result<(), ControlError> {
        if let Owner::Customer(id) = owner {
            self.customer(id)?;
        }
        let _g = self.lock.lock().await;
        let stored = self.store.get(owner, version)?;
        // A stored version compiled once; make sure it still does.
        compile_stored(&stored).map_err(|e| ControlError::Invalid(e.to_string()))?;
        self.store.activate(owner, version)?;
        self.rebuild_scripts().await
    }

    /// Deactivates the uploaded script (versions stay for rollback). False
    /// if none was active.
    pub async fn delete(&self, owner: Owner<'_>) -> Result<bool, ControlError> {
        let _g = self.lock.lock().await;
        let had = self.store.deactivate(owner)?;
        if had {
            self.rebuild_scripts().await?;
        }
        Ok(had)
    }

    pub fn active(&self, owner: Owner<'_>) -> Result<Option<Stored>, ControlError> {
        Ok(self.store.active(owner)?)
    }

    /// A dry run of `source` (or, without one, of the customer's active
    /// chain) on `call` (the JSON `data` of `sipforge run`).
    pub async fn dry_run(
        &self,
        source: Option<(Lang, String)>,
        customer: Option<String>,
        call: Option<serde_json::Value>,
    ) -> Result<DryRun, ControlError> {
        let c = customer
            .as_deref()
            .map(|id| self.customer(id))
            .transpose()?;
        let data = match call {
            Some(v) => {
                crate::script::dry_run::call_data_from_json(&v).map_err(ControlError::BadRequest)?
            }
            None => self.sample_call(c.as_ref()),
        };
        let (limits, ctx) = match &c {
            Some(c) => (customer_limits(c), customer_ctx(c)),
            None => (Limits::default(), anonymous_ctx()),
        };
        let chain: Vec<Arc<Script>> = match source {
            Some((lang, src)) => {
                let name = format!("dry-run.{}", ext(lang));
                vec![Arc::new(
                    tokio::task::spawn_blocking(move || match lang {
                        Lang::Js => Script::compile_js(&name, 0, &src),
                        Lang::Lua => Script::compile_lua(&name, 0, &src),
                    })
                    .await
                    .map_err(|e| ControlError::Internal(e.to_string()))?
                    .map_err(|e| ControlError::Invalid(e.to_string()))?,
                )]
            }
            None => {
                let Some(c) = &c else {
                    return Err(ControlError::BadRequest(
                        "give \"script\" or \"customer\"".into(),
                    ));
                };
                let live = self.pipeline.live();
                let idx = live
                    .router()
                    .customer_index(&c.id)
                    .ok_or_else(|| ControlError::NotFound(format!("no customer {:?}", c.id)))?;
                let chain = live.scripts().chain(idx);
                if chain.is_empty() {
                    return Err(ControlError::NotFound(format!(
                        "customer {:?} has no script",
                        c.id
                    )));
                }
                chain
            }
        };
        tokio::task::spawn_blocking(move || {
            DryRun::of(Engine::run_blocking(&chain, data, &ctx, &limits, true))
        })
        .await
        .map_err(|e| ControlError::Internal(e.to_string()))
    }

    /// A sample INVITE from the customer: the first of its sources, a US
    /// number, the routes its prefixes give.
    fn sample_call(&self, c: Option<&CustomerConfig>) -> CallData {
        let live = self.pipeline.live();
        let idx = c.and_then(|c| live.router().customer_index(&c.id));
        let egress = idx
            .and_then(|i| live.router().route(i, "15551234567", "15550001111"))
            .map(|r| r.egress)
            .unwrap_or_default();
        let src_ip = c
            .and_then(|c| c.sources.first())
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |s| s.addr);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        CallData {
            routing: crate::script::Routing {
                call_id: "dry-run@sipforge".into(),
                method: "INVITE".into(),
                ruri: "sip:15551234567@127.0.0.1".into(),
                dest_number: "15551234567".into(),
                cli: "15550001111".into(),
                from_display: None,
                from_uri: "sip:15550001111@127.0.0.1".into(),
                to_uri: "sip:15551234567@127.0.0.1".into(),
                pai: None,
                src_ip,
                src_port: 5060,
                transport: crate::transport::Transport::Udp,
                account_id: c.map(|c| c.id.clone()).unwrap_or_default(),
                server: self.config().server.server_name.clone(),
                headers: Vec::new(),
                time_ms: now,
            },
            egress,
            headers: Vec::new(),
            remove_headers: Vec::new(),
            vars: Arc::new(c.map(|c| c.vars.clone()).unwrap_or_default()),
        }
    }
}

fn ext(lang: Lang) -> &'static str {
    match lang {
        Lang::Js => "js",
        Lang::Lua => "lua",
    }
}

fn customer_limits(c: &CustomerConfig) -> Limits {
    Limits {
        timeout: Duration::from_millis(c.timeout_ms),
        memory_bytes: c.script_memory_mb as usize * 1024 * 1024,
    }
}

fn customer_ctx(c: &CustomerConfig) -> CallCtx {
    CallCtx {
        customer_id: Arc::from(c.id.as_str()),
        secrets: Arc::new(c.secrets.clone()),
    }
}

fn anonymous_ctx() -> CallCtx {
    CallCtx {
        customer_id: Arc::from(""),
        secrets: Arc::new(toml::Table::new()),
    }
}
