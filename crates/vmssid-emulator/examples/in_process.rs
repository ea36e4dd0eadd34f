// The emulator inside a Rust program, as in a project's own tests: start it on 127.0.0.1:0,
// point a client at its URL, steer it through its control handle, and stop it.
//
//     cargo run --release -p vmssid-emulator --example in_process
//
// Any HTTP client does; this one writes HTTP/1.1 on a TcpStream so that it needs nothing
// beyond tokio. The emulator crate's tests run `run()` (tests/it/example.rs).

use std::error::Error;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vmssid_emulator::{DEMO_RG, DEMO_SUBSCRIPTION, DEMO_VMSS, Emulator, FaultRule, Fixture};

const TOKEN: &str = "test-token";

fn main() -> Result<(), Box<dyn Error>> {
    let identity = run()?;
    println!("{DEMO_VMSS}: {identity}");
    Ok(())
}

/// Reads the demo scale set's identity over HTTP, once with an injected 503, and returns it.
pub fn run() -> Result<Value, Box<dyn Error>> {
    // A `#[tokio::test]` has this runtime already; the emulator needs no more than it.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let emulator = Emulator::builder()
            .token(TOKEN)
            .fixture(Fixture::Demo)
            .operation_polls(1)
            .start()
            .await?;
        let path = format!(
            "/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/{DEMO_RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{DEMO_VMSS}?api-version=2024-11-01"
        );

        let (status, body) = get(emulator.url(), &path).await?;
        if status != 200 {
            return Err(format!("GET {path}: {status} {body}").into());
        }
        let identity = serde_json::from_str::<Value>(&body)?["identity"].clone();

        // The control handle: faults, the second writer, counters and the state, at run time.
        let control = emulator.control();
        control.add_fault(FaultRule::parse("503:next=1:GET")?);
        let (status, _) = get(emulator.url(), &path).await?;
        if status != 503 {
            return Err(format!("expected the injected 503, got {status}").into());
        }
        let counters = control.counters();
        if counters.total != 2 || counters.by_status.get(&503) != Some(&1) {
            return Err(format!("unexpected counters: {counters:?}").into());
        }

        emulator.shutdown().await;
        Ok(identity)
    })
}

/// `GET url+path` with the bearer token: the status and the body.
async fn get(url: &str, path: &str) -> Result<(u16, String), Box<dyn Error>> {
    let host = url.strip_prefix("http://").ok_or("expected an http:// URL")?;
    let mut stream = TcpStream::connect(host).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no end of headers in the answer")?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no status in the answer")?;
    Ok((status, body.to_string()))
}
