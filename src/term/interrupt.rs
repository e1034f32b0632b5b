//! Ctrl-C: a stack wait explains how to resume; anywhere else the terminal is
//! put back (echo, cursor) before leaving with 130.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set while [`crate::aws::stack::wait`] owns Ctrl-C (it explains how to
/// resume); otherwise [`exit_on_ctrl_c`] restores the terminal and exits.
pub static WAITING: AtomicBool = AtomicBool::new(false);

/// Ctrl-C outside a stack wait: a masked prompt may have switched echo off,
/// so put the terminal back before leaving with 130.
pub async fn exit_on_ctrl_c() {
    while tokio::signal::ctrl_c().await.is_ok() {
        if WAITING.load(Ordering::SeqCst) {
            continue;
        }
        let term = console::Term::stderr();
        if term.is_term() {
            let _ = term.show_cursor();
            let _ = term.write_line("");
        }
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            let _ = std::process::Command::new("stty").arg("echo").status();
        }
        std::process::exit(130);
    }
}
