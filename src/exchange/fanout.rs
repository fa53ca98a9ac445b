//! Calls the filter makes itself for one request (a [`Batch`]): at most
//! `max_concurrent` in flight, the next one dispatched as one answers, one
//! deadline for the whole batch (each call may take what remains of it),
//! and all or nothing: the first failure ends the batch with that failure,
//! every call still in flight abandoned; a late answer is ignored.

use crate::api::{Batch, Call, Gather, Rewritten};
use crate::error::ApiError;
use crate::exchange::step::Callout;
use crate::header::{first, HeaderPair};
use std::time::{Duration, SystemTime};

/// Where a batch stands after an event.
#[derive(Debug)]
pub(super) enum Progress {
    /// Make these calls (possibly none: wait for those in flight).
    Dispatch(Vec<Callout>),
    /// Every call answered: the answer.
    Done(Rewritten),
    /// The batch failed: answer with this error.
    Failed(ApiError),
}

/// A batch under way.
#[derive(Debug)]
pub(super) struct Fanout {
    gather: Gather,
    cluster: String,
    /// The calls by id (their index); taken when dispatched.
    calls: Vec<Option<Call>>,
    /// The next call to dispatch.
    next: usize,
    /// Ids of the calls in flight.
    in_flight: Vec<u32>,
    answered: usize,
    deadline: SystemTime,
    timeout_secs: u64,
    max_concurrent: usize,
}

impl Fanout {
    /// The batch `batch`, planned at `now`: its deadline is `now` plus its timeout.
    pub(super) fn new(batch: Batch, now: SystemTime) -> Fanout {
        Fanout {
            gather: batch.gather,
            cluster: batch.cluster,
            calls: batch.calls.into_iter().map(Some).collect(),
            next: 0,
            in_flight: Vec::new(),
            answered: 0,
            deadline: now + Duration::from_secs(batch.timeout_secs),
            timeout_secs: batch.timeout_secs,
            max_concurrent: batch.max_concurrent.max(1),
        }
    }

    /// The cluster the calls go through.
    pub(super) fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Dispatches calls until `max_concurrent` are in flight or none is left;
    /// finishes when every call has answered.
    pub(super) fn dispatch(&mut self, now: SystemTime) -> Progress {
        if self.answered == self.calls.len() {
            return Progress::Done(self.gather.finish());
        }
        let mut out = Vec::new();
        while self.in_flight.len() < self.max_concurrent && self.next < self.calls.len() {
            let remaining = match self.deadline.duration_since(now) {
                Ok(d) if !d.is_zero() => d,
                _ => return Progress::Failed(ApiError::batch_timeout(self.timeout_secs)),
            };
            let id = self.next;
            self.next += 1;
            let Some(call) = self.calls.get_mut(id).and_then(Option::take) else {
                continue;
            };
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            self.in_flight.push(id);
            out.push(Callout {
                id,
                cluster: self.cluster.clone(),
                headers: call.headers,
                body: call.body,
                timeout: remaining,
            });
        }
        Progress::Dispatch(out)
    }

    /// Call `id` answered (`status` `None`: it ended with no answer).
    /// `None` for an answer of no call in flight (a late or unknown one).
    pub(super) fn on_answer<H: HeaderPair>(
        &mut self,
        id: u32,
        status: Option<u16>,
        headers: &[H],
        body: &[u8],
        now: SystemTime,
    ) -> Option<Progress> {
        let at = self.in_flight.iter().position(|&i| i == id)?;
        self.in_flight.swap_remove(at);
        let Some(status) = status else {
            return Some(Progress::Failed(ApiError::callout_unanswered()));
        };
        let envoy_timeout =
            matches!(status, 408 | 504) && first(headers, "x-amzn-errortype").is_none();
        if envoy_timeout || (status != 200 && now >= self.deadline) {
            return Some(Progress::Failed(ApiError::batch_timeout(self.timeout_secs)));
        }
        let index = usize::try_from(id).unwrap_or(usize::MAX);
        if let Err(e) = self.gather.take(index, status, headers, body) {
            return Some(Progress::Failed(e));
        }
        self.answered += 1;
        Some(self.dispatch(now))
    }
}
