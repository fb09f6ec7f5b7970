//! The `sipforge` command line. `main` parses arguments and calls [`run`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{error, info, warn};

use crate::admin::{Admin, Control};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::routing::Router;
use crate::script::store::ScriptStore;
use crate::script::{Engine, ScriptSet};
use crate::transport::Listeners;

#[derive(Debug, Parser)]
#[command(
    name = "sipforge",
    version,
    about = "SIP routing sidecar for Class 4/5 voice"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the sidecar (on the embedded default config unless --config is given).
    Serve {
        /// Path to a TOML configuration file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Only validate the configuration (and route files), then exit.
        #[arg(long)]
        check: bool,
        /// Log format on stderr.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Validate a routing script: compile it and check it defines main.
    Check {
        /// The script (.lua, or .js / .mjs for JavaScript).
        script: PathBuf,
    },
    /// Print the Luau a JavaScript routing script is translated to.
    Transpile {
        /// The script (.js).
        script: PathBuf,
    },
    /// Dry-run a routing script on one call: prints the returned data as one
    /// JSON line, or {"sip":"NNN Reason"} / {"error":"..."}; console output
    /// and timing go to stderr.
    Run {
        /// The script (.lua, or .js / .mjs for JavaScript).
        script: PathBuf,
        /// The call: a `data` object as the script receives it (JSON).
        #[arg(long)]
        data: PathBuf,
        /// The `ctx` object: {"customer": {"id": ...}, "secrets": {...}} (JSON).
        #[arg(long)]
        ctx: Option<PathBuf>,
        /// Time limit in milliseconds.
        #[arg(long, default_value_t = 50)]
        timeout_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the parsed command line; the exit code is the process's.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve {
            config,
            check,
            log_format,
        } => {
            init_logging(log_format);
            serve(config, check)
        }
        Command::Check { script } => match crate::script::set::load_file(&script, 1) {
            Ok(_) => {
                println!("{}: ok", script.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Command::Transpile { script } => transpile(&script),
        Command::Run {
            script,
            data,
            ctx,
            timeout_ms,
        } => crate::script::dry_run::run_cli(&script, &data, ctx.as_deref(), timeout_ms),
    }
}

/// `sipforge transpile SCRIPT.js`: the Luau on stdout, or the error on stderr (exit 1).
fn transpile(script: &std::path::Path) -> ExitCode {
    let source = match std::fs::read_to_string(script) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot read script {}: {e}", script.display());
            return ExitCode::from(1);
        }
    };
    match crate::js::transpile(&script.display().to_string(), &source) {
        Ok(luau) => {
            print!("{luau}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn serve(path: Option<PathBuf>, check_only: bool) -> ExitCode {
    let config = match Config::load(path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let router = match Router::new(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Uploaded scripts (admin API) live under script_dir and win over the
    // configured files; a check does not create the directory.
    let store = match check_only {
        true => None,
        false => match ScriptStore::open(&config.server.script_dir) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: script_dir: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let loaded = match &store {
        Some(st) => ScriptSet::load_with_store(&config, st, 1),
        None => ScriptSet::load(&config, 1),
    };
    let scripts = match loaded {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(store) = store else {
        println!("{}: configuration ok", config.source);
        return ExitCode::SUCCESS;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Installed before any port is bound: a signal sent as soon as the
        // listeners appear is handled, never left to the default action.
        let signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let listeners = match Listeners::bind(&config) {
            Ok(l) => l,
            Err(e) => {
                error!("{e}");
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let metrics = Arc::new(Metrics::new());
        let admin = match config.server.admin_listen {
            Some(addr) => match Admin::bind(
                addr,
                metrics.clone(),
                std::env::var(&config.server.admin_token_env).ok(),
            )
            .await
            {
                Ok(a) => Some(a),
                Err(e) => {
                    error!("{e}");
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            },
            None => None,
        };
        let admin_state = admin.as_ref().map(|a| a.state());
        if let Some(a) = admin {
            if let Some(addr) = a.local_addr() {
                info!("listening on admin http://{addr}");
            }
            if a.state().token.is_none() {
                warn!(env = %config.server.admin_token_env, "no admin token in the environment: the /api/v1 endpoints refuse every request");
            }
            tokio::spawn(a.serve());
        }
        let workers = config
            .server
            .script_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let engine = Arc::new(Engine::new(workers, config.server.script_queue));
        let pipeline = Arc::new(Pipeline::new(&config, router, metrics).with_scripts(engine, scripts));
        let control = Arc::new(Control::new(
            path.clone(),
            config.clone(),
            store,
            pipeline.clone(),
        ));
        if let Some(s) = &admin_state {
            let _ = s.control.set(control.clone());
        }
        tokio::spawn(reload_on_sighup(signals.hup, control));
        info!(config = %config.source, mode = ?config.server.mode, customers = config.customers.len(), "sipforge starting");
        let grace = Duration::from_secs(config.server.shutdown_grace_s);
        let drain = drain(signals.term, signals.int, pipeline.clone(), grace);
        listeners.serve(pipeline, drain).await;
        info!("sipforge stopped");
        ExitCode::SUCCESS
    })
}

/// The process signals sipforge acts on.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// On SIGHUP, re-reads the configuration file (and every script it names,
/// plus the uploaded ones) and swaps it in atomically; a configuration or
/// script that fails is refused (logged with the reason) and the running
/// one stays active.
async fn reload_on_sighup(mut hup: Signal, control: Arc<Control>) {
    while hup.recv().await.is_some() {
        match control.reload().await {
            Ok(generation) => info!(generation, "SIGHUP: configuration and scripts reloaded"),
            Err(e) => error!("SIGHUP: not reloaded, the running configuration stays: {e}"),
        }
    }
}

/// Graceful shutdown: resolves once a SIGTERM or SIGINT has come and the
/// pipeline has drained — new INVITEs refused with 503 + Retry-After,
/// transactions in progress finished — or `grace` has passed, or a second
/// signal came.
async fn drain(mut term: Signal, mut int: Signal, pipeline: Arc<Pipeline>, grace: Duration) {
    tokio::select! {
        _ = int.recv() => info!("SIGINT received, draining"),
        _ = term.recv() => info!("SIGTERM received, draining"),
    }
    pipeline.start_drain(grace.as_secs().max(1));
    let deadline = tokio::time::Instant::now() + grace;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let busy = pipeline.busy();
        if busy == 0 {
            info!("drained: no transactions left");
            return;
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(deadline) => {
                warn!(transactions = busy, "grace period over; stopping with transactions left");
                return;
            }
            _ = int.recv() => { warn!("second signal: stopping now"); return; }
            _ = term.recv() => { warn!("second signal: stopping now"); return; }
        }
    }
}
