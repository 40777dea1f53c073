// SPDX-License-Identifier: GPL-2.0

//! daxcow: the fsdax copy-on-write engine in Rust.
//!
//! This is the module's entry point.  While it is loaded it says so in the kernel log, with its
//! own version and the kernel release it was built for, so that a test log always shows which
//! engine a run used.

use kernel::prelude::*;

module! {
    type: Daxcow,
    name: "daxcow",
    authors: ["The daxcow developers"],
    description: "fsdax copy-on-write engine in Rust",
    license: "GPL",
}

/// The daxcow release; bumped with every change of the engine interface or behaviour.
const VERSION: &str = "0.1.0";

/// The release string of the kernel this module was compiled against, as Kbuild wrote it.
const BUILT_FOR: &str = include_str!(concat!(env!("OBJTREE"), "/include/config/kernel.release"));

/// The module's state while it is loaded.
struct Daxcow;

impl kernel::Module for Daxcow {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!(
            "daxcow {} loaded (built for Linux {})\n",
            VERSION,
            BUILT_FOR.trim_end()
        );
        Ok(Daxcow)
    }
}

impl Drop for Daxcow {
    fn drop(&mut self) {
        pr_info!("daxcow {} unloaded\n", VERSION);
    }
}
