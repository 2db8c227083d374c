//! The sandbox worker alone, for this crate's tests (`CARGO_BIN_EXE_marquee-onnx-worker`);
//! the server runs the same function as `marquee onnx-worker`.

fn main() -> std::process::ExitCode {
    inference::sandbox::worker_main()
}
