//! The scripts a configuration names, compiled: each customer's script and the
//! global "first"/"last" scripts, as one immutable set that is swapped whole
//! when scripts change (calls in flight keep the set they started with).

use std::path::Path;
use std::sync::Arc;

use super::{Script, ScriptError};
use crate::config::{Config, Priority};

/// Why the configured scripts could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read script {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Compile(#[from] ScriptError),
    #[error("script store: {0}")]
    Store(String),
}

/// Every configured script, compiled.
#[derive(Debug, Default)]
pub struct ScriptSet {
    /// Version stamped on every script of this set (increases on each reload).
    pub version: u64,
    per_customer: Vec<Option<Arc<Script>>>,
    first: Vec<Arc<Script>>,
    last: Vec<Arc<Script>>,
}

/// Whether `path` names a JavaScript script (`.js`, `.mjs`); anything else is Lua.
pub fn is_javascript(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("js") || e.eq_ignore_ascii_case("mjs"))
}

/// Reads and compiles one script file (JavaScript by extension, else Lua).
pub fn load_file(path: &Path, version: u64) -> Result<Script, LoadError> {
    let name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    if is_javascript(path) {
        Ok(Script::compile_js(&name, version, &source)?)
    } else {
        Ok(Script::compile_lua(&name, version, &source)?)
    }
}

/// Compiles a stored version (its language as stored).
pub fn compile_stored(stored: &super::store::Stored) -> Result<Script, ScriptError> {
    let name = stored.path.display().to_string();
    let v = u64::from(stored.version);
    match stored.lang {
        super::Lang::Js => Script::compile_js(&name, v, &stored.source),
        super::Lang::Lua => Script::compile_lua(&name, v, &stored.source),
    }
}

impl ScriptSet {
    /// The configured scripts, with what the admin API stored on top: a
    /// customer's active uploaded version replaces its `script` file; active
    /// stored global scripts run with their stored priority after the
    /// configured globals of the same priority (by name).
    pub fn load_with_store(
        config: &Config,
        store: &super::store::ScriptStore,
        version: u64,
    ) -> Result<ScriptSet, LoadError> {
        use super::store::Owner;
        let err = |e: super::store::StoreError| LoadError::Store(e.to_string());
        let mut set = ScriptSet::load(config, version)?;
        for (i, c) in config.customers.iter().enumerate() {
            if let Some(stored) = store.active(Owner::Customer(&c.id)).map_err(err)? {
                set.per_customer[i] = Some(Arc::new(compile_stored(&stored)?));
            }
        }
        let (_, globals) = store.owners().map_err(err)?;
        for name in globals {
            let Some(stored) = store.active(Owner::Global(&name)).map_err(err)? else {
                continue;
            };
            let list = match store.priority(&name).map_err(err)? {
                Some(Priority::First) => &mut set.first,
                Some(Priority::Last) | None => &mut set.last,
                Some(Priority::Disabled) => continue,
            };
            list.push(Arc::new(compile_stored(&stored)?));
        }
        Ok(set)
    }

    /// The script a customer's calls run (stored or configured), if any.
    pub fn customer_script(&self, customer: usize) -> Option<&Arc<Script>> {
        self.per_customer.get(customer).and_then(Option::as_ref)
    }

    /// Compiles every script the config names; the first failure is returned.
    pub fn load(config: &Config, version: u64) -> Result<ScriptSet, LoadError> {
        let mut set = ScriptSet {
            version,
            ..ScriptSet::default()
        };
        for c in &config.customers {
            set.per_customer.push(match &c.script {
                Some(path) => Some(Arc::new(load_file(path, version)?)),
                None => None,
            });
        }
        for g in &config.global_scripts {
            let list = match g.priority {
                Priority::First => &mut set.first,
                Priority::Last => &mut set.last,
                Priority::Disabled => continue,
            };
            list.push(Arc::new(load_file(&g.file, version)?));
        }
        Ok(set)
    }

    /// The chain a customer's calls run: global "first" scripts, the
    /// customer's own, global "last" scripts (empty when none is configured).
    pub fn chain(&self, customer: usize) -> Vec<Arc<Script>> {
        let own = self.per_customer.get(customer).and_then(Option::as_ref);
        let mut chain = Vec::with_capacity(self.first.len() + 1 + self.last.len());
        chain.extend(self.first.iter().cloned());
        chain.extend(own.cloned());
        chain.extend(self.last.iter().cloned());
        chain
    }

    /// Whether any script would run for this customer.
    pub fn has_chain(&self, customer: usize) -> bool {
        !self.first.is_empty()
            || !self.last.is_empty()
            || self.per_customer.get(customer).is_some_and(Option::is_some)
    }
}
