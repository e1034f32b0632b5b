//! The terminal: prompts, progress and result output, Ctrl-C.

pub mod interrupt;
pub mod output;
pub mod prompt;
