//! Two things cargo cannot see by itself:
//!
//! - `sqlx::migrate!` embeds `migrations/` at compile time, but a proc macro cannot
//!   tell cargo which files it read: without this, a new or changed migration is not
//!   in the binary until some Rust file changes (sqlx's documented build script).
//! - A release build embeds `ui/dist` (see `src/http/assets.rs`). rust-embed tracks
//!   the files it embedded, but not the folder: a binary built before the web app
//!   was would stay without it after `npm run build`, because cargo saw no change.
//!   Watching the folder makes the next release build embed what is there now. Debug
//!   builds read the folder at run time, so they need not rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    if std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_none() {
        println!("cargo:rerun-if-changed=ui/dist");
    }
}
