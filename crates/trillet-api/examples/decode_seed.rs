//! Decodes the reference page's example record with the generated model and prints
//! what it understood. Runs offline: `cargo run -p trillet-api --example decode_seed`.

use trillet_api::types::CallHistory;

const SEED: &str = include_str!("../../../spec/examples/call-history.seed.json");

fn main() -> Result<(), serde_json::Error> {
    let record: CallHistory = serde_json::from_str(SEED)?;
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(())
}
