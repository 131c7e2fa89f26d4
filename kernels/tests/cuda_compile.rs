//! Every `kernels/cuda/*.cu` compiles with nvcc (PTX 9.0 and an sm_90 cubin), and the
//! PTX and cubin committed beside it — what the backend embeds — are exactly what the
//! source compiles to, so a kernel edit without a rebuild fails here.
//!
//! nvcc comes from `kernels/setup-nvcc.sh` (PyPI's CUDA 13.0 compiler in a git-ignored
//! venv; `make deps` runs it). Without nvcc the test fails, unless
//! `AETHER_SKIP_NVCC=1` says this machine deliberately has none.

use std::path::{Path, PathBuf};
use std::process::Command;

fn kernels_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn find_nvcc() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NVCC") {
        return Some(PathBuf::from(path));
    }
    let output = Command::new(kernels_directory().join("setup-nvcc.sh"))
        .arg("--path-only")
        .output()
        .ok()?;
    if output.status.success() {
        let path = String::from_utf8(output.stdout).ok()?;
        return Some(PathBuf::from(path.trim()));
    }
    let on_path = Command::new("nvcc").arg("--version").output().ok()?;
    on_path.status.success().then(|| PathBuf::from("nvcc"))
}

fn compile(nvcc: &Path, source: &Path, mode: &str, output: &Path) {
    let status = Command::new(nvcc)
        .args(["-arch=sm_90", "-O3", mode])
        .arg(source)
        .arg("-o")
        .arg(output)
        .status()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", nvcc.display()));
    assert!(status.success(), "nvcc {mode} {} failed", source.display());
}

#[test]
fn every_cuda_kernel_compiles_and_matches_the_shipped_build() {
    let Some(nvcc) = find_nvcc() else {
        if std::env::var("AETHER_SKIP_NVCC").is_ok_and(|value| value == "1") {
            eprintln!("skipped: no nvcc and AETHER_SKIP_NVCC=1");
            return;
        }
        panic!("no nvcc: run kernels/setup-nvcc.sh (make deps), or set AETHER_SKIP_NVCC=1");
    };
    let output_directory = std::env::temp_dir().join(format!("aether-nvcc-{}", std::process::id()));
    std::fs::create_dir_all(&output_directory).unwrap();
    let mut compiled = 0;
    for entry in std::fs::read_dir(kernels_directory().join("cuda")).unwrap() {
        let source = entry.unwrap().path();
        if source.extension().is_none_or(|extension| extension != "cu") {
            continue;
        }
        let stem = source.file_stem().unwrap().to_owned();
        for (mode, extension) in [("-ptx", "ptx"), ("-cubin", "cubin")] {
            let built = output_directory.join(&stem).with_extension(extension);
            compile(&nvcc, &source, mode, &built);
            let shipped = source.with_extension(extension);
            let shipped_bytes = std::fs::read(&shipped)
                .unwrap_or_else(|error| panic!("{} is not shipped: {error}", shipped.display()));
            assert!(
                std::fs::read(&built).unwrap() == shipped_bytes,
                "{} is stale: run kernels/build-cuda.sh and commit the output",
                shipped.display()
            );
        }
        compiled += 1;
    }
    std::fs::remove_dir_all(&output_directory).ok();
    assert!(compiled >= 1, "found no .cu files");
}
