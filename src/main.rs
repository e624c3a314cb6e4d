//! The `quorum` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    return_large_buffers_to_the_system();
    quorum::cli::run(quorum::cli::Cli::parse())
}

/// Every sign-in hashes the password with argon2 in a 19 MiB buffer. glibc's malloc raises
/// its mmap threshold after the first such buffer is freed, so later ones come from the
/// heap of the thread that hashed and stay there: each blocking thread kept ~20 MiB after a
/// few sign-ins (58 MiB idle instead of 17). A fixed threshold keeps large buffers mapped,
/// and freeing them returns the memory at once.
fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread
    // starts, and an unsupported value is refused (return value 0), not undefined.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
