//! The worker pool: a fixed number of OS threads, each owning one [`Vm`], fed by a
//! bounded queue; results come back through `tokio::sync::oneshot`.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use super::vm::Vm;
use super::{CallCtx, CallData, Limits, Outcome, RunReport, Script};

/// The queue is full (or the engine is shutting down): answer 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("script engine overloaded")]
pub struct Overloaded;

struct Job {
    chain: Vec<Arc<Script>>,
    data: CallData,
    ctx: CallCtx,
    limits: Limits,
    want_json: bool,
    reply: oneshot::Sender<RunReport>,
}

/// A bounded pool of script workers.
pub struct Engine {
    tx: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workers", &self.workers.len())
            .finish()
    }
}

thread_local! {
    /// The VM of whatever thread runs scripts: a pool worker or a `run_blocking` caller.
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
}

/// Runs on this thread's VM (creating it, and replacing it after a stop or a panic).
fn run_here(
    chain: &[Arc<Script>],
    data: CallData,
    ctx: &CallCtx,
    limits: &Limits,
    want_json: bool,
) -> RunReport {
    VM.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            match Vm::new() {
                Ok(vm) => *slot = Some(vm),
                Err(e) => return failed(format!("cannot create a script VM: {e}")),
            }
        }
        let Some(vm) = slot.as_mut() else {
            return failed("no script VM".to_string());
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            vm.run(chain, data, ctx, limits, want_json)
        }));
        match result {
            Ok(report) => {
                if vm.poisoned {
                    *slot = None;
                }
                report
            }
            Err(_) => {
                *slot = None;
                failed("script engine panicked".to_string())
            }
        }
    })
}

fn failed(message: String) -> RunReport {
    RunReport {
        outcome: Outcome::Failed { message },
        console: Vec::new(),
        elapsed: Duration::ZERO,
        returned_json: None,
    }
}

fn worker(rx: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if job.reply.is_closed() {
            continue; // the caller gave up
        }
        let report = run_here(&job.chain, job.data, &job.ctx, &job.limits, job.want_json);
        let _ = job.reply.send(report);
    }
}

impl Engine {
    /// Starts `workers` threads (at least 1) behind a queue of `queue` waiting calls
    /// (0 = a call is accepted only when a worker is idle and waiting).
    pub fn new(workers: usize, queue: usize) -> Engine {
        let (tx, rx) = sync_channel(queue);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..workers.max(1))
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("script-{i}"))
                    .spawn(move || worker(rx))
                    .expect("spawn script worker thread")
            })
            .collect();
        Engine {
            tx: Some(tx),
            workers,
        }
    }

    /// Runs the chain (global "first" scripts, the customer's, global "last") on
    /// one call on a worker. Fails fast with `Overloaded` when the queue is full.
    pub async fn run(
        &self,
        chain: Vec<Arc<Script>>,
        data: CallData,
        ctx: CallCtx,
        limits: Limits,
        want_json: bool,
    ) -> Result<RunReport, Overloaded> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            chain,
            data,
            ctx,
            limits,
            want_json,
            reply,
        };
        let tx = self.tx.as_ref().ok_or(Overloaded)?;
        match tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => return Err(Overloaded),
        }
        rx.await.map_err(|_| Overloaded)
    }

    /// The same, synchronously on the current thread (its own cached VM): CLI dry
    /// runs, benches, tests.
    pub fn run_blocking(
        chain: &[Arc<Script>],
        data: CallData,
        ctx: &CallCtx,
        limits: &Limits,
        want_json: bool,
    ) -> RunReport {
        run_here(chain, data, ctx, limits, want_json)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.tx = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
