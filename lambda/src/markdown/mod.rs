//! How a message is written: the DingTalk markdown builder, console links and
//! times in the team's zone.
//!
//! This layer sits below both the typed events (`events`) and the entry point
//! that picks one (`format`), so neither imports the other's helpers.

mod doc;
pub mod escape;
mod fields;
pub mod links;
pub mod time;

pub use doc::Doc;

/// How much of an unknown payload is shown before it is cut; the whole
/// message is cut again at [`crate::message::MAX_TEXT_BYTES`].
pub const GENERIC_BODY_BYTES: usize = 6_000;

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n… (truncated)", &s[..cut])
}
