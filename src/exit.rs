//! How the process ends on the command line: an error printed with each cause once, and a
//! closed pipe on standard output ending the program quietly.

/// The error and its causes, joined by `: `, each said once. Errors often repeat their
/// source in their own text (DataFusion's do, and so do wrappers that print it), so a cause
/// whose text is already there is left out: `Error during planning: table 'x' not found`
/// once, not three times.
pub fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let said = cause.to_string();
        if said.is_empty() || text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// For commands that print results: a write to a closed pipe (`tributary ddl | head`) ends
/// the process at once and quietly, as `cat` and ripgrep do, instead of failing every later
/// `println!` with a panic. The stream worker keeps Rust's default (SIGPIPE ignored): its
/// sockets must report a closed connection as an error, never end the process.
pub fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal, before any other thread starts
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_said_once() {
        // a wrapper printing its source, over a DataFusion error printing its own
        let planning = "Error during planning: table 'x' not found";
        let e = anyhow::anyhow!(planning)
            .context(planning)
            .context(planning);
        assert_eq!(error_text(&e), planning);
        let e = anyhow::anyhow!("cannot read: no such file").context("opening the warehouse /x");
        assert_eq!(
            error_text(&e),
            "opening the warehouse /x: cannot read: no such file"
        );
    }
}
