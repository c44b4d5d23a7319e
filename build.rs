//! A release build embeds `ui/dist` (see `src/http/assets.rs`). rust-embed tracks
//! the files it embedded, but not the folder: a binary built before the web app
//! was would stay without it after `npm run build`, because cargo saw no change.
//! Watching the folder makes the next release build embed what is there now. Debug
//! builds read the folder at run time, so they need not rebuild when it changes.
fn main() {
    if std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_none() {
        println!("cargo:rerun-if-changed=ui/dist");
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
}
