//! Runs an axum router on 127.0.0.1:<free port> in a background thread.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::sync::oneshot;

pub struct Background {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn start(router: axum::Router) -> Result<Background> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("testkit-{}", addr.port()))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("testkit: no runtime: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    // Not a graceful shutdown: a client may hold a request
                    // open forever (a Runtime API `invocation/next` from an
                    // orphaned child of a killed bootstrap), and the drop
                    // would then wait for it. Open connections are dropped
                    // with the runtime below.
                    tokio::select! {
                        _ = std::future::IntoFuture::into_future(axum::serve(listener, router)) => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_background();
            })?;
        Ok(Background {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
