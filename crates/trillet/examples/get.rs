//! Fetch one call-history record.
//!
//! ```sh
//! TRILLET_API_KEY=… TRILLET_WORKSPACE_ID=… cargo run -p trillet --example get -- <ID>
//! ```

use trillet::{CallHistoryExt, Client};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::args()
        .nth(1)
        .ok_or("usage: get <CALL_HISTORY_ID>")?;
    let client = Client::from_env()?;
    let call = client.call_history(&id).await?;
    println!("id:        {}", call.id.as_deref().unwrap_or("-"));
    println!(
        "direction: {}",
        call.direction
            .as_ref()
            .map_or("-".into(), |d| d.to_string())
    );
    println!(
        "status:    {}",
        call.status.as_ref().map_or("-".into(), |s| s.to_string())
    );
    println!(
        "started:   {}",
        call.started_at().map_or("-".into(), |t| t.to_rfc3339())
    );
    println!(
        "duration:  {}",
        call.duration()
            .map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()))
    );
    println!(
        "charge:    {}",
        call.customer_charge().map_or("-".into(), |c| c.to_string())
    );
    println!("summary:   {}", call.summary.as_deref().unwrap_or("-"));
    Ok(())
}
