//! `/metrics` (Prometheus text format) and `/healthz` over HTTP/1.1, until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::debug;
use tributary_ingest::stream::Metrics;

/// Binds `addr` and serves in the background; returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    healthy_within: Duration,
    stall_after: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => { debug!(error = %e, "metrics accept failed"); continue; }
                },
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let metrics = metrics.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(respond(
                            &request,
                            &metrics,
                            healthy_within,
                            stall_after,
                        ))
                    }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(error = %e, "metrics connection ended with an error");
                }
            });
        }
    });
    Ok(bound)
}

fn respond(
    request: &Request<Incoming>,
    metrics: &Metrics,
    healthy_within: Duration,
    stall_after: Duration,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match request.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        "/healthz" => match metrics.health(healthy_within, stall_after) {
            Ok(()) => (StatusCode::OK, "text/plain", "ok\n".to_string()),
            Err(problems) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("{problems}\n"),
            ),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "try /metrics or /healthz\n".to_string(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a static response is valid")
}
