//! Seeds a benchmark stack and prints shell assignments for the load generator:
//! `API_KEY=…`, `TOKEN=…`, `AUTHTOKEN=…`, `ENTRY_UID=…`, `DELIVERY_TOKEN=…`.

use clap::Parser;
use headwater_store::Db;

#[derive(Parser)]
struct Args {
    #[arg(long, env = "HEADWATER_DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = Db::connect(&args.database_url).await?;
    db.migrate().await?;
    let s = headwater_bench::seed(&db, args.entries).await?;
    println!("API_KEY={}", s.api_key);
    println!("TOKEN={}", s.management_token);
    println!("AUTHTOKEN={}", s.authtoken);
    println!("ENTRY_UID={}", s.entry_uid);
    println!("DELIVERY_TOKEN={}", s.delivery_token);
    db.close().await;
    Ok(())
}
