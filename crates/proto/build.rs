//! Compiles the `.proto` files with `protox` (pure Rust, no `protoc` binary) and `prost-build`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/relay.proto", "proto/payload.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
