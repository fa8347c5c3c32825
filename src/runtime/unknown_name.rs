//! The error of parsing a name that is not one of its choices (a runtime, a strategy, a split
//! mode), for the command line and for programs reading their own options.

/// A name that is not one of the choices: says what was asked for and what can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    what: &'static str,
    name: String,
    choices: &'static str,
}

impl UnknownName {
    /// `name` is no `what`; `choices` says which are (`"scheduler or threads"`).
    pub(crate) fn new(what: &'static str, name: &str, choices: &'static str) -> Self {
        Self {
            what,
            name: name.to_string(),
            choices,
        }
    }
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown {} '{}': use {}",
            self.what, self.name, self.choices
        )
    }
}

impl std::error::Error for UnknownName {}

#[cfg(test)]
mod tests {
    use crate::Runtime;

    #[test]
    fn an_unknown_runtime_says_which_are_known() {
        let e = "fibers".parse::<Runtime>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown runtime 'fibers': use scheduler or threads"
        );
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        assert!(boxed.source().is_none());
        assert_eq!("Threads".parse::<Runtime>(), Ok(Runtime::Threads));
    }
}
