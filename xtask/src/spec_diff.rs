//! `cargo xtask spec-diff`: classify what a spec change does to clients (not built yet).

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("spec-diff is not implemented yet".into())
}
