//! One module per subcommand; each returns the process exit code.

pub mod apply;
pub mod check;
pub mod docs;
pub mod journal;
pub mod lib;
pub mod run;
pub mod shell;
pub mod test;
pub mod undo;
mod undo_roles;
mod undo_sets;
