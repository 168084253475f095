//! The HTTP floor: the smallest axum handler, on the same runtime settings as Headwater, so
//! Headwater's figures can be read as a ratio of what the machine serves at all.

use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".into());
    let app = Router::new().route("/hello", get(|| async { "{\"hello\":\"world\"}" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("hello floor on http://{addr}/hello");
    axum::serve(listener, app).await
}
