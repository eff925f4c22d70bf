//! Fetch many records, ids from standard input (one per line), staying under the rate
//! limit; prints one JSON line per record and failures on standard error.
//!
//! ```sh
//! printf 'id1\nid2\n' | TRILLET_API_KEY=… TRILLET_WORKSPACE_ID=… cargo run -p trillet --example batch
//! ```

use std::io::BufRead;

use futures_util::StreamExt;
use trillet::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let ids: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    let mut results = client.call_histories(ids).concurrency(4).stream_raw();
    let mut failed = 0;
    while let Some((id, result)) = results.next().await {
        match result {
            Ok(raw) => println!("{}", raw.json()),
            Err(e) => {
                failed += 1;
                eprintln!("{id}: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} id(s) failed").into());
    }
    Ok(())
}
