//! `cargo xtask lint`: the spec's own checks (placeholder until the lint lands).

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("lint is not implemented yet".into())
}
