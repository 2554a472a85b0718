//! The program's single error type, printed as one line:
//! `dln: error: <file>: <array>: <problem>`.
//!
//! The file and array parts are present whenever the failure can be attributed to them, so that
//! a user (or a script reading stderr) knows what to fix without a backtrace.

use dln::algebra::AlgebraError;
use std::fmt;
use std::path::{Path, PathBuf};

/// A failure of a `dln` command, attributed to a file and an array inside it when possible.
#[derive(Debug, Clone)]
pub struct CliError {
    file: Option<PathBuf>,
    array: Option<String>,
    problem: String,
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A failure that concerns no particular file.
    pub fn new(problem: impl fmt::Display) -> Self {
        Self {
            file: None,
            array: None,
            problem: problem.to_string(),
        }
    }

    /// A failure concerning the file (or directory) `path` as a whole.
    pub fn file(path: &Path, problem: impl fmt::Display) -> Self {
        Self {
            file: Some(path.to_path_buf()),
            array: None,
            problem: problem.to_string(),
        }
    }

    /// A failure concerning the array `name` of the file `path`.
    pub fn array(path: &Path, name: &str, problem: impl fmt::Display) -> Self {
        Self {
            file: Some(path.to_path_buf()),
            array: Some(name.to_string()),
            problem: problem.to_string(),
        }
    }

    /// The problem, without the file and array.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// Maps an error of `dln-algebra` about the weights read from `path` (arrays `W1..WN`) to the
    /// arrays it names.
    pub fn from_algebra(path: &Path, e: AlgebraError) -> Self {
        match e {
            AlgebraError::ShapeMismatch {
                lower,
                upper,
                rows,
                cols,
            } => Self::array(
                path,
                &format!("W{upper}"),
                format!(
                    "has {cols} columns but W{lower} has {rows} rows (W{upper} must be d{upper}×d{lower})"
                ),
            ),
            AlgebraError::NonFinite { layer, row, col } => Self::array(
                path,
                &format!("W{layer}"),
                format!("non-finite entry at [{row}, {col}]"),
            ),
            AlgebraError::Empty => Self::file(path, "no layers: expected arrays W1..WN"),
            other => Self::file(path, other),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(array) = &self.array {
            write!(f, "{array}: ")?;
        }
        // One line, whatever the underlying message contains.
        let mut first = true;
        for line in self
            .problem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(line)?;
            first = false;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}
