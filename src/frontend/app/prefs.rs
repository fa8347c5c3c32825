//! What the app remembers across restarts: one serde struct, every field defaulted, so a
//! preference added later (or a file from an older version) loads without fuss.

use std::path::PathBuf;

use super::controls::Controls;
use super::export;
use crate::runtime::executor::Runtime;
use crate::wordcount::strategy::Strategy;

/// The storage key the preferences are kept under.
pub const KEY: &str = "palavriado.prefs";

/// The persisted preferences (transient state — runs, selection, dialogs — is not here).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Recently used corpus paths, newest first.
    pub recent: Vec<PathBuf>,
    /// Where exports go.
    pub export_dir: PathBuf,
    /// Ask where to save each export.
    pub ask_where: bool,
    /// The strategy last chosen (`None`: the first preset's).
    pub strategy: Option<Strategy>,
    /// Passes over the corpus last chosen.
    pub repeat: Option<u32>,
    /// The runtime last chosen.
    pub runtime: Runtime,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            export_dir: export::default_export_dir(),
            ask_where: false,
            strategy: None,
            repeat: None,
            runtime: Runtime::Scheduler,
        }
    }
}

impl Prefs {
    /// Puts the remembered choices into `controls`.
    pub fn restore(&self, controls: &mut Controls) {
        controls.recent = self.recent.clone();
        if let Some(s) = self.strategy {
            // A returning user starts from their own choice, not the first-run preset.
            controls.set_strategy(s);
            controls.delay_on = false;
            controls.duration = None;
        }
        if let Some(r) = self.repeat {
            controls.repeat = r.max(1);
        }
        controls.runtime = self.runtime;
    }

    /// The preferences `controls` and the export settings make.
    pub fn capture(controls: &Controls, export_dir: PathBuf, ask_where: bool) -> Prefs {
        Prefs {
            recent: controls.recent.clone(),
            export_dir,
            ask_where,
            strategy: Some(controls.strategy),
            repeat: Some(controls.repeat),
            runtime: controls.runtime,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_or_partial_preferences_load_with_defaults() {
        let p: Prefs = serde_json::from_str(r#"{"recent": ["/tmp/corpus"], "repeat": 3}"#).unwrap();
        assert_eq!(p.recent, [PathBuf::from("/tmp/corpus")]);
        assert_eq!(p.repeat, Some(3));
        assert_eq!(p.strategy, None);
        assert_eq!(p.runtime, Runtime::Scheduler);
        let back: Prefs = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
