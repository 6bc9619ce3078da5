//! Streaming CSV: rows are read in keyset chunks and sent as they are written, so a
//! million-line export holds one chunk in memory, never the whole file.
use std::{future::Future, pin::Pin};

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

pub type CsvStream<M> = Pin<Box<dyn Stream<Item = Result<M, Status>> + Send>>;

/// A message carrying one chunk of CSV bytes.
pub trait Chunk: Send + 'static {
    fn chunk(data: Vec<u8>) -> Self;
}

impl Chunk for xiaopu_api::settlement::ExportBatchResponse {
    fn chunk(data: Vec<u8>) -> Self {
        Self { data }
    }
}

impl Chunk for xiaopu_api::settlement::ExportPeriodReportResponse {
    fn chunk(data: Vec<u8>) -> Self {
        Self { data }
    }
}

/// Sends `header`, then every chunk `next(cursor)` yields (records and the cursor to
/// continue from, None at the end). Stops early if the client goes away.
pub fn stream<M, C, F, Fut>(header: String, mut next: F) -> CsvStream<M>
where
    M: Chunk,
    C: Send + 'static,
    F: FnMut(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(String, Option<C>), Status>> + Send,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if tx.send(Ok(M::chunk(header.into_bytes()))).await.is_err() {
            return;
        }
        let mut cursor = None;
        loop {
            match next(cursor.take()).await {
                Ok((records, more)) => {
                    if !records.is_empty() && tx.send(Ok(M::chunk(records.into_bytes()))).await.is_err() {
                        return;
                    }
                    match more {
                        Some(c) => cursor = Some(c),
                        None => return,
                    }
                }
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
