//! Decodes the reference page's example record with the generated model and prints
//! what it understood. Runs offline: `cargo run -p trillet-api --example decode_seed`.

use trillet_api::types::CallHistory;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_, seed) = trillet_spec::EXAMPLE_FILES
        .iter()
        .find(|(name, _)| *name == "call-history.seed.json")
        .ok_or("trillet-spec has no seed example")?;
    let record: CallHistory = serde_json::from_str(seed)?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(())
}
