//! The sandbox worker for the e2e harness's in-process server (`marquee onnx-worker` in
//! production).

fn main() -> std::process::ExitCode {
    inference::sandbox::worker_main()
}
