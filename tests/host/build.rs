//! `src/mcsafe.rs` include!()s `$DAXCOW_OBJ/src/mcsafe_extable.rs`, the exception-table entries
//! Kbuild generates for its loops; the host build has no exception table, so the string is
//! empty (the loops keep their instruction sequence).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::create_dir_all(out.join("src")).unwrap();
    fs::write(
        out.join("src/mcsafe_extable.rs"),
        "\"\" // no exception table outside the kernel\n",
    )
    .unwrap();
    println!("cargo:rustc-env=DAXCOW_OBJ={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
}
