//! Where tasks that no request waits on run: the process's main runtime, not the
//! runtime of the request that started them.
//!
//! actix runs each HTTP worker as a single-threaded runtime, so a task a request starts
//! with `tokio::spawn` runs on that request's thread and holds up every connection the
//! thread serves for as long as it computes between awaits. Reading a catalog view of
//! 11,700 items again (every 10 s) or a semantic index whole (every 30 s) is tens of
//! milliseconds of decoding and comparing: on a request thread it showed as the slowest
//! percent of `recommendations` while a catalog was being embedded. On the main runtime
//! (multi-threaded, started before the HTTP workers) the scheduler shares the cores
//! between it and the request threads instead.

use std::future::Future;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinHandle;

/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Background {
    /// The multi-threaded runtime current when the services were built; `None` when that
    /// was a single-threaded one (tests), where tasks stay on the runtime that spawns them.
    runtime: Option<Handle>,
}

impl Background {
    /// The runtime current now, when it is multi-threaded.
    pub fn current() -> Self {
        Self { runtime: multi_threaded() }
    }

    /// Spawns `task` on the main runtime, or on the current one when that is the main
    /// runtime already or there is none to send it to.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match (&self.runtime, multi_threaded()) {
            (Some(main), None) => main.spawn(task),
            _ => tokio::spawn(task),
        }
    }
}

/// The current runtime, when it is a multi-threaded one.
fn multi_threaded() -> Option<Handle> {
    Handle::try_current().ok().filter(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_task_from_a_single_threaded_runtime_runs_on_the_main_one() {
        let main =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("main-rt").build().unwrap();
        let background = main.block_on(async { Background::current() });
        let worker = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ran_on = worker.block_on(async {
            background.spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap()
        });
        assert_eq!(ran_on.as_deref(), Some("main-rt"));
    }

    #[tokio::test]
    async fn without_a_main_runtime_a_task_runs_where_it_is_spawned() {
        let background = Background::current();
        let here = std::thread::current().id();
        assert!(background.spawn(async move { std::thread::current().id() == here }).await.unwrap());
    }
}
