//! glibc's malloc tuning for this process. By default glibc gives threads up to eight arenas
//! per core, keeps the memory freed in each, and raises its mmap threshold each time a large
//! block is freed (up to 32 MiB), so the Arrow buffers and Parquet encodes of a backfill end up
//! on fragmented heaps that never shrink: a 10M-event backfill on two cores peaked at about
//! 820 MiB of RSS while holding about 250 MiB of data. Two settings bring it to about
//! 370 MiB at the same speed (docs/benchmarks.md):
//! - at most [`ARENAS`] arenas;
//! - a fixed trim threshold, which also keeps the mmap threshold at its 128 KiB default:
//!   large buffers are mapped and unmapped, returned to the system when freed.
//!
//! `MALLOC_ARENA_MAX` or `MALLOC_TRIM_THRESHOLD_` in the environment win (glibc reads them
//! itself); then this tuning is left out entirely.

/// Arenas at most.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 4;

/// Free memory at the top of a heap kept before it is given back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 32 << 20;

/// Tunes malloc; call first thing in `main`, before any other thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none()
    {
        // SAFETY: mallopt changes malloc's tuning parameters only; no other thread runs yet
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}
