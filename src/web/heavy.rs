//! Heavy work (documents rendered for download) is limited in how many run at once: one
//! click on a large register must not take memory and cores from everyone else, and a
//! crowd of clicks must not take the server down. Past the limit the answer is a 503 with
//! `Retry-After`, before any work starts.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AppError;

#[derive(Clone)]
pub struct HeavyJobs(Arc<Semaphore>);

/// Held while a heavy job runs; the slot frees when it is dropped.
pub type HeavyJob = OwnedSemaphorePermit;

impl HeavyJobs {
    pub fn new(at_once: usize) -> Self {
        Self(Arc::new(Semaphore::new(at_once)))
    }

    /// A slot for one job, or [`AppError::Busy`] when all are taken.
    pub fn try_start(&self) -> Result<HeavyJob, AppError> {
        self.0.clone().try_acquire_owned().map_err(|_| {
            AppError::Busy(
                "Other reports are being prepared just now. Nothing was started: please \
                 try again in a few seconds."
                    .to_owned(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_a_job_is_refused_until_a_slot_frees() {
        let jobs = HeavyJobs::new(2);
        let first = jobs.try_start().unwrap();
        let _second = jobs.try_start().unwrap();
        let refused = jobs.try_start().unwrap_err();
        assert!(matches!(refused, AppError::Busy(_)));
        let response = axum::response::IntoResponse::into_response(refused);
        assert_eq!(
            response.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(response.headers().contains_key("retry-after"));
        drop(first);
        assert!(jobs.try_start().is_ok());
    }
}
