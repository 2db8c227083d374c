//! ORM entities of the model registry; private to `models`.

pub mod deployment;
pub mod job;
pub mod job_run;
pub mod model;
