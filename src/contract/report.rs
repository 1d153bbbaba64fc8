//! The outcome of replaying a case, and its one-line rendering.

use std::fmt;

/// One reason a step did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The step's name (`data` for the case's named byte strings).
    pub step: String,
    /// e.g. `$.data.id: expected integer, got string "7"`.
    pub reason: String,
}

/// The outcome of one case. A case stops at its first failing step, whose every mismatch is
/// listed.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub name: String,
    pub ok: bool,
    pub failures: Vec<Failure>,
}

impl fmt::Display for CaseReport {
    /// `ok <case>`, or `FAIL <case> <step>: <reason>` followed by one indented line per
    /// further failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((first, rest)) = self.failures.split_first() else {
            return write!(f, "ok {}", self.name);
        };
        write!(f, "FAIL {} {}: {}", self.name, first.step, first.reason)?;
        for failure in rest {
            write!(f, "\n    {}: {}", failure.step, failure.reason)?;
        }
        Ok(())
    }
}
