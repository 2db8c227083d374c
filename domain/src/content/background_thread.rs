//! A thread for work off the request threads: the embedding worker's model runs on one,
//! and the upkeep its batches cause (applying them to the index, rebuilding the blend's
//! precomputation) on another, both at the lowest CPU priority the process may set
//! without privileges (on Linux `SCHED_IDLE`, see [`lower_own_priority`]). On an idle
//! machine the worker gets a whole core;
//! when requests keep every core busy the scheduler gives them the cores and this
//! thread what is left, so a catalog being embedded slows the answers as little as the
//! scheduler allows (bench/README.md has the figures).
//!
//! Jobs run one after another; a job that panics is reported to its caller as an
//! internal error and the thread goes on with the next.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use crate::error::{DomainError, Result};

type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct BackgroundThread {
    jobs: mpsc::Sender<Job>,
}

impl BackgroundThread {
    /// Starts the thread; `lowest_priority` false leaves it at the process's priority.
    pub(crate) fn start(name: &str, lowest_priority: bool) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            if lowest_priority {
                lower_own_priority();
            }
            for job in queue {
                // The job's own answer channel reports the panic (it is dropped unsent).
                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            }
        })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the thread and waits (asynchronously) for its answer.
    pub(crate) async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = answer.send(work());
            }))
            .map_err(|_| DomainError::internal("the background thread has stopped"))?;
        answered.await.map_err(|_| DomainError::internal("a background job failed"))
    }
}

/// Linux: `SCHED_IDLE`. A thread of that policy runs only on a core no
/// other thread wants, and a waking request thread takes the core from it at once; at
/// nice 19 alone the scheduler may let it finish its time slice first (a few
/// milliseconds, which showed in serving's p99). Elsewhere: the lowest priority.
fn lower_own_priority() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        match set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle) {
            Ok(()) => return,
            Err(e) => tracing::debug!(error = ?e, "SCHED_IDLE refused; lowering the nice value only"),
        }
    }
    if let Err(e) = set_current_thread_priority(ThreadPriority::Min) {
        tracing::warn!(error = ?e, "the background thread keeps the process's CPU priority");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_answer_and_a_panic_does_not_stop_the_thread() {
        let thread = BackgroundThread::start("test-background", true).unwrap();
        assert_eq!(thread.run(|| 6 * 7).await.unwrap(), 42);
        assert!(thread.run(|| -> u8 { panic!("boom") }).await.is_err());
        assert_eq!(thread.run(|| "still here").await.unwrap(), "still here");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_thread_runs_at_the_lowest_priority() {
        let thread = BackgroundThread::start("test-background", true).unwrap();
        let stat = thread.run(|| std::fs::read_to_string("/proc/thread-self/stat").unwrap()).await.unwrap();
        // Field 41 of stat is the policy (5: SCHED_IDLE, where the nice value has no
        // effect); the command name (field 2) has no spaces here.
        let fields: Vec<&str> = stat.split_whitespace().collect();
        assert_eq!(fields[40], "5", "stat: {stat}");
    }
}
