//! A job runner with many tokio tasks, instrumented for tokio-console: `console-subscriber`
//! serves its tasks and resources on 127.0.0.1:6669 (or `--console-addr ADDR`), for
//! `palavriado attach --console` (or tokio-console) to follow.
//!
//! Its tasks, each named: `worker 1..N` take jobs from a queue and hold a permit of the `pool`
//! semaphore while they work (an async sleep); `client 1..24` join one by one and take turns
//! through the two permits of the `gate` semaphore, so its waiters grow; `indexer`
//! blocks its scheduler thread for 50 ms every two seconds (a synchronous file read, on
//! purpose); `spinner` yields to itself in a loop; `forgotten` waits for a wake no one will
//! send; `--sessions N` adds N idle tasks (each waking once a second) to try many tasks.
//!
//! Usage: `cargo run --release -- [--duration SECONDS] [--console-addr ADDR]
//! [--workers N] [--clients N] [--sessions N] [--publish-ms MS] [--record FILE]` (`--record`:
//! console-subscriber also writes its recording there, which palavriado replays). (from this folder: see Cargo.toml).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

/// The command line's settings.
struct Options {
    addr: SocketAddr,
    duration: Option<Duration>,
    workers: usize,
    clients: usize,
    sessions: usize,
    publish: Duration,
    record: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 6669)),
        duration: None,
        workers: 8,
        clients: 24,
        sessions: 0,
        publish: Duration::from_secs(1),
        record: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| format!("{flag} needs {what} after it"))
        };
        let number = |v: String, flag: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{flag} takes a number, not '{v}'"))
        };
        match flag.as_str() {
            "--console-addr" => {
                let v = value("an address (HOST:PORT)")?;
                o.addr = v
                    .parse()
                    .map_err(|_| format!("--console-addr takes HOST:PORT, not '{v}'"))?;
            }
            "--duration" => {
                o.duration = Some(Duration::from_secs_f64(number(value("seconds")?, &flag)?));
            }
            "--workers" => o.workers = number(value("a count")?, &flag)?.max(1.0) as usize,
            "--clients" => o.clients = number(value("a count")?, &flag)? as usize,
            "--sessions" => o.sessions = number(value("a count")?, &flag)? as usize,
            "--publish-ms" => {
                o.publish = Duration::from_secs_f64(number(value("ms")?, &flag)?.max(10.0) / 1e3);
            }
            "--record" => o.record = Some(value("a file")?),
            "-h" | "--help" => {
                return Err(
                    "usage: console_jobs [--duration SECONDS] [--console-addr ADDR] \
                            [--workers N] [--clients N] [--sessions N] [--publish-ms MS] [--record FILE]"
                        .into(),
                );
            }
            other => return Err(format!("unknown option '{other}' (see --help)")),
        }
    }
    Ok(o)
}

/// Spawns `fut` as a task named `name` (the name tokio-console and palavriado show), located
/// where this is called.
#[track_caller]
fn spawn<F>(name: &str, fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::task::Builder::new()
        .name(name)
        .spawn(fut)
        .expect("spawning a task");
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("console_jobs: {e}");
            std::process::exit(2);
        }
    };
    let mut console = console_subscriber::ConsoleLayer::builder()
        .server_addr(o.addr)
        .publish_interval(o.publish);
    if let Some(path) = &o.record {
        console = console.recording_path(path);
    }
    console.init();
    eprintln!(
        "console_jobs: serving tokio-console's protocol on {} ({} workers, {} sessions)",
        o.addr, o.workers, o.sessions
    );

    // Jobs: a queue the workers take from, each job held with a permit of the pool.
    let (jobs, queue) = mpsc::channel::<u64>(64);
    let queue = Arc::new(tokio::sync::Mutex::new(queue));
    let pool = Arc::new(Semaphore::new(o.workers.div_ceil(2)));
    for i in 1..=o.workers {
        let (queue, pool) = (queue.clone(), pool.clone());
        spawn(&format!("worker {i}"), async move {
            loop {
                let job = queue.lock().await.recv().await;
                let Some(job) = job else { return };
                let _permit = pool.acquire().await.expect("the pool stays open");
                tokio::time::sleep(Duration::from_millis(5 + job % 20)).await;
            }
        });
    }
    spawn("dispatcher", async move {
        let mut n = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(2));
        loop {
            tick.tick().await;
            n += 1;
            if jobs.send(n).await.is_err() {
                return;
            }
        }
    });

    // Clients through a gate of two permits, held 300 ms each: one more client joins every
    // 400 ms, so more and more of them wait on the gate.
    let gate = Arc::new(Semaphore::new(2));
    for i in 1..=o.clients {
        let gate = gate.clone();
        spawn(&format!("client {i}"), async move {
            tokio::time::sleep(Duration::from_millis(400 * i as u64)).await;
            loop {
                let permit = gate.acquire().await.expect("the gate stays open");
                tokio::time::sleep(Duration::from_millis(300)).await;
                drop(permit);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    // A task that blocks its scheduler thread: a synchronous read, every two seconds.
    spawn("indexer", async move {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    // A task that wakes itself in a loop (a busy wait: polled again and again for nothing).
    spawn("spinner", async move {
        loop {
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 200 {
                    return std::task::Poll::Ready(());
                }
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            })
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    // A task that waits for a wake no one can send: it keeps no waker.
    spawn("forgotten", async move {
        std::future::poll_fn(|_| std::task::Poll::<()>::Pending).await;
    });
    for i in 1..=o.sessions {
        spawn(&format!("session {i}"), async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
            }
        });
    }

    match o.duration {
        Some(d) => tokio::time::sleep(d).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
