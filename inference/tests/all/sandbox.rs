//! Tenant-uploaded models in the sandbox: a memory bomb and a time bomb each fail one
//! request within 5 s while this process's memory barely moves, the sandbox recovers,
//! and the upload probe refuses both.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ndarray::Array2;

use inference::InferenceError;
use inference::onnx::{SignatureKind, export_history_model};
use inference::sandbox::{SandboxConfig, SandboxedScorer};
use inference::upload::{ExpectedSignature, validate_uploaded};

use crate::common::{resident_memory_lock, runtime};
use crate::hostile::{expand_bomb, loop_bomb, loop_bomb_on_real_history};

const ITEMS: usize = 3;
/// `1 x 100M x 3` floats: 1.2 GB for one row, 2.4 GB for the probe's two.
const COPIES: i64 = 100_000_000;
const TRIPS: i64 = 1_000_000_000;
/// The bounds: the request fails within this, and this process's resident memory
/// grows by less than the other.
const FAIL_WITHIN: Duration = Duration::from_secs(5);
const RSS_GROWTH_LIMIT_KB: i64 = 100 * 1024;

fn config() -> Option<SandboxConfig> {
    let rt = runtime()?;
    Some(SandboxConfig {
        program: PathBuf::from(env!("CARGO_BIN_EXE_marquee-onnx-worker")),
        args: Vec::new(),
        ort_library: rt.library_path().to_path_buf(),
        memory_limit_bytes: 512 << 20,
        timeout: Duration::from_secs(2),
        workers: 1,
    })
}

fn rss_kb() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn history() -> Array2<f32> {
    Array2::from_shape_vec((1, ITEMS), vec![2.0, 0.0, 1.0]).unwrap()
}

/// Scores `input` with `model` in a fresh scorer; returns the error and how long it took.
fn fail_once(config: &SandboxConfig, model: Vec<u8>, input: &Array2<f32>) -> (InferenceError, Duration) {
    let scorer = SandboxedScorer::new(config.clone(), model, ITEMS);
    let started = Instant::now();
    let err = scorer.score(input.view()).expect_err("the bomb must fail");
    (err, started.elapsed())
}

fn good_model_scores(config: &SandboxConfig) {
    let weights = Array2::from_shape_fn((ITEMS, ITEMS), |(i, j)| if i == j { 2.0 } else { 0.0 });
    let scorer = SandboxedScorer::new(config.clone(), export_history_model(weights.view(), "good").unwrap(), ITEMS);
    let scores = scorer.score(history().view()).unwrap();
    assert_eq!(scores, Array2::from_shape_vec((1, ITEMS), vec![4.0, 0.0, 2.0]).unwrap());
}

#[test]
fn an_expand_past_a_gibibyte_fails_within_seconds_and_the_server_memory_stays_put() {
    let _memory = resident_memory_lock();
    let Some(config) = config() else { return };
    good_model_scores(&config);
    let before = rss_kb();
    let (err, took) = fail_once(&config, expand_bomb(ITEMS, COPIES), &history());
    let grown = rss_kb() - before;
    eprintln!("expand bomb: {err} after {took:?}, RSS grew {grown} kB");
    assert!(took < FAIL_WITHIN, "took {took:?}");
    assert!(grown < RSS_GROWTH_LIMIT_KB, "RSS grew by {grown} kB");
    assert!(
        matches!(err, InferenceError::Runtime { .. } | InferenceError::SandboxWorkerDied { .. }),
        "a memory failure, not {err:?}"
    );
    good_model_scores(&config);
}

#[test]
fn a_loop_of_a_billion_trips_fails_within_seconds_and_the_worker_is_replaced() {
    let _memory = resident_memory_lock();
    let Some(config) = config() else { return };
    let scorer = SandboxedScorer::new(config.clone(), loop_bomb(ITEMS, TRIPS), ITEMS);
    let before = rss_kb();
    for attempt in 0..2 {
        let started = Instant::now();
        let err = scorer.score(history().view()).expect_err("the bomb must fail");
        let took = started.elapsed();
        eprintln!("loop bomb, attempt {attempt}: {err} after {took:?}");
        assert!(took < FAIL_WITHIN, "took {took:?}");
        assert!(matches!(err, InferenceError::SandboxTimeout { timeout_ms: 2000 }), "{err:?}");
    }
    assert!(rss_kb() - before < RSS_GROWTH_LIMIT_KB);
    good_model_scores(&config);
}

#[test]
fn the_upload_probe_refuses_both_bombs_within_seconds() {
    let _memory = resident_memory_lock();
    let Some(config) = config() else { return };
    let probe = config.with_timeout(Duration::from_secs(4));
    let expected = ExpectedSignature { kind: SignatureKind::History, factors: 0, n_items: ITEMS, max_bytes: 1 << 20 };
    let before = rss_kb();
    for (name, model) in [("expand", expand_bomb(ITEMS, COPIES)), ("loop", loop_bomb(ITEMS, TRIPS))] {
        let started = Instant::now();
        let err = validate_uploaded(&model, &expected, &probe).expect_err("refused");
        let took = started.elapsed();
        eprintln!("{name} bomb at upload: {err} after {took:?}");
        assert!(took < FAIL_WITHIN, "{name}: took {took:?}");
        assert!(matches!(err, InferenceError::ProbeFailed { .. }), "{name}: {err:?}");
    }
    assert!(rss_kb() - before < RSS_GROWTH_LIMIT_KB);
    let weights = Array2::<f32>::eye(ITEMS);
    validate_uploaded(&export_history_model(weights.view(), "good").unwrap(), &expected, &probe).unwrap();
}

#[test]
fn a_bomb_that_passes_the_probe_still_fails_only_its_request_at_serving() {
    let Some(config) = config() else { return };
    let expected = ExpectedSignature { kind: SignatureKind::History, factors: 0, n_items: ITEMS, max_bytes: 1 << 20 };
    let model = loop_bomb_on_real_history(ITEMS, TRIPS);
    validate_uploaded(&model, &expected, &config.with_timeout(Duration::from_secs(4))).expect("harmless on the probe");
    let scorer = SandboxedScorer::new(config, model, ITEMS);
    scorer.warm().unwrap();
    let light = Array2::from_shape_vec((1, ITEMS), vec![1.0, 0.0, 1.0]).unwrap();
    assert_eq!(scorer.score(light.view()).unwrap(), light);
    let started = Instant::now();
    let err = scorer.score(history().view()).expect_err("explodes on a real history");
    assert!(started.elapsed() < FAIL_WITHIN);
    assert!(matches!(err, InferenceError::SandboxTimeout { .. }), "{err:?}");
    assert_eq!(scorer.score(light.view()).unwrap(), light, "the next request is served");
}

#[test]
fn a_missing_worker_program_is_the_servers_fault() {
    let Some(mut config) = config() else { return };
    config.program = PathBuf::from("/nonexistent/marquee-onnx-worker");
    let weights = Array2::<f32>::eye(ITEMS);
    let scorer = SandboxedScorer::new(config, export_history_model(weights.view(), "good").unwrap(), ITEMS);
    assert!(matches!(scorer.score(history().view()), Err(InferenceError::SandboxUnavailable { .. })));
}
