// SPDX-License-Identifier: GPL-2.0

//! daxcow: the fsdax copy-on-write engine in Rust.
//!
//! While the module is loaded, `fs/dax.c` (with the shim series in `patches/`) hands it the
//! copy around writes, zeroing and write faults on shared extents, the unshare copy, and the
//! compare behind FIDEDUPERANGE.  Unloading it returns that work to the in-tree C.

use kernel::prelude::*;

#[path = "../bindings/helpers.rs"]
mod helpers;

// The pure modules are also compiled as a host library by tests/host, which needs their items
// `pub`; inside the module they are crate-private.
#[allow(unreachable_pub)]
mod compare;
#[allow(unreachable_pub)]
mod cow_plan;
#[allow(unreachable_pub)]
mod extent;
#[allow(unreachable_pub)]
mod lockstep;
#[cfg(daxcow_trace)]
#[allow(unreachable_pub)]
mod persist;

// The abstractions over the C the engine uses: the only modules that call `bindings` or the
// module's C helpers (with the `extern "C"` trampolines in `dax_cow`).
mod dax;
mod dax_cow;
mod iomap;
mod mcsafe;
mod stats;

// The policy, in safe code over the abstractions.
mod engine;

module! {
    type: Daxcow,
    name: "daxcow",
    authors: ["The daxcow developers"],
    description: "fsdax copy-on-write engine in Rust",
    license: "GPL",
}

/// The daxcow release; bumped with every change of the engine interface or behaviour.
const VERSION: &str = "0.2.0";

/// The release string of the kernel this module was compiled against, as Kbuild wrote it.
const BUILT_FOR: &str = include_str!(concat!(env!("OBJTREE"), "/include/config/kernel.release"));

/// The module's state while it is loaded.  Fields drop in order: the engine is unregistered
/// (and every caller has left it) before the counters it writes are freed.
struct Daxcow {
    _engine: dax_cow::Registration,
    _stats: stats::Registration,
}

impl kernel::Module for Daxcow {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: both registrations go into the module's state, which the kernel drops at
        // unload, before the module's memory is freed.
        let stats = unsafe { stats::Registration::new()? };
        // SAFETY: as above.
        let engine = unsafe { dax_cow::Registration::new()? };
        pr_info!(
            "daxcow {} loaded (built for Linux {})\n",
            VERSION,
            BUILT_FOR.trim_end()
        );
        Ok(Daxcow {
            _engine: engine,
            _stats: stats,
        })
    }
}

impl Drop for Daxcow {
    fn drop(&mut self) {
        pr_info!("daxcow {} unloaded\n", VERSION);
    }
}

#[kunit_tests(daxcow)]
mod kunit {
    use crate::compare::{first_difference, first_nonzero, pair_rule, PairRule};
    use crate::cow_plan::CopyAroundPlan;
    use crate::extent::ExtentKind;
    use crate::mcsafe::{first_diff_block, BLOCK};

    #[test]
    fn plan_write_crossing_a_page() {
        let p = CopyAroundPlan::new(4095, 10, 4096).unwrap();
        assert_eq!(p.span_start, 0);
        assert_eq!(p.span_len, 8192);
        assert_eq!(p.head, 0..4095);
        assert_eq!(p.tail, 4105..8192);
        assert!(!p.whole);
    }

    #[test]
    fn plan_pmd_fault_is_whole() {
        let p = CopyAroundPlan::new(2 << 20, 2 << 20, 2 << 20).unwrap();
        assert!(p.whole);
        assert_eq!(p.fill_bytes(), 2 << 20);
    }

    #[test]
    fn plan_refuses_overflow() {
        assert!(CopyAroundPlan::new(u64::MAX - 10, 100, 4096).is_err());
    }

    #[test]
    fn compare_finds_first_difference() {
        let a = [7u8; 100];
        let mut b = [7u8; 100];
        assert_eq!(first_difference(&a, &b), None);
        b[77] = 8;
        assert_eq!(first_difference(&a, &b), Some(77));
        let mut z = [0u8; 70];
        assert_eq!(first_nonzero(&z), None);
        z[69] = 1;
        assert_eq!(first_nonzero(&z), Some(69));
    }

    #[test]
    fn mcsafe_compare_finds_the_differing_block() {
        let a = [5u8; 8 * BLOCK];
        let mut b = [5u8; 8 * BLOCK];
        // SAFETY: both arrays hold 8 blocks.
        let all = unsafe { first_diff_block(a.as_ptr(), b.as_ptr(), 8) };
        assert_eq!(all, Ok(8));
        b[5 * BLOCK + 31] = 6;
        // SAFETY: as above.
        let at = unsafe { first_diff_block(a.as_ptr(), b.as_ptr(), 8) };
        assert_eq!(at, Ok(5));
        // SAFETY: zero blocks read nothing.
        let none = unsafe { first_diff_block(a.as_ptr(), b.as_ptr(), 0) };
        assert_eq!(none, Ok(0));
    }

    #[test]
    fn holes_match_only_holes() {
        assert_eq!(
            pair_rule(ExtentKind::Hole, ExtentKind::Hole),
            PairRule::Same
        );
        assert_eq!(
            pair_rule(ExtentKind::Hole, ExtentKind::Mapped),
            PairRule::Differ
        );
        assert_eq!(
            pair_rule(ExtentKind::Mapped, ExtentKind::Unwritten),
            PairRule::SourceMustBeZero
        );
    }
}
