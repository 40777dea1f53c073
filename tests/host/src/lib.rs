//! The parts of daxcow that need no kernel, compiled from the module's own source files so the
//! host tests exercise exactly the code the module runs.

#[path = "../../../src/cow_plan.rs"]
pub mod cow_plan;

#[path = "../../../src/extent.rs"]
pub mod extent;

#[path = "../../../src/compare.rs"]
pub mod compare;

#[path = "../../../src/lockstep.rs"]
pub mod lockstep;

#[path = "../../../src/persist.rs"]
pub mod persist;

// `src/mcsafe.rs` takes `kernel::error::{code::EIO, Result}`: this crate stands in for `kernel`.
extern crate self as kernel;

/// The two names `src/mcsafe.rs` uses from the kernel crate.
pub mod error {
    /// An errno.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Error(pub i32);
    /// The kernel's `Result`.
    pub type Result<T = ()> = core::result::Result<T, Error>;
    /// The errnos used.
    pub mod code {
        /// I/O error.
        pub const EIO: super::Error = super::Error(-5);
    }
}

#[path = "../../../src/mcsafe.rs"]
#[allow(dead_code)]
mod mcsafe;

#[cfg(test)]
mod mcsafe_tests {
    use super::mcsafe::{copy_lines_nt, first_diff_block, LineSplit, BLOCK, LINE};
    use proptest::prelude::*;

    proptest! {
        /// The cut of a copy covers it exactly, with edges shorter than a line and the lines
        /// starting on a line boundary of the destination.
        #[test]
        fn line_split_covers_the_copy(dst in 0usize..1 << 20, n in 0usize..20_000) {
            let s = LineSplit::new(dst, n);
            prop_assert_eq!(s.lead() + s.lines() * LINE + s.tail(), n);
            prop_assert!(s.lead() < LINE && s.tail() < LINE);
            prop_assert_eq!(s.bulk_end(), s.lead() + s.lines() * LINE);
            if s.lines() > 0 {
                prop_assert_eq!((dst + s.lead()) % LINE, 0);
            }
        }

        /// The module's loops, run on the host: the copy stores exactly its lines, the compare
        /// finds the first differing block.
        #[test]
        fn the_loops_copy_and_compare(lines in 0usize..200, flip in any::<prop::sample::Index>()) {
            let src: Vec<u8> = (0..lines * LINE + LINE).map(|i| (i * 7 + 3) as u8).collect();
            let mut dst = vec![0xeeu8; lines * LINE + LINE];
            // SAFETY: both buffers hold `lines * LINE` bytes and do not overlap.
            let r = unsafe { copy_lines_nt(dst.as_mut_ptr(), src.as_ptr(), lines) };
            prop_assert!(r.is_ok());
            prop_assert_eq!(&dst[..lines * LINE], &src[..lines * LINE]);
            prop_assert!(dst[lines * LINE..].iter().all(|&b| b == 0xee));
            let blocks = lines * LINE / BLOCK;
            // SAFETY: both hold `blocks * BLOCK` bytes.
            prop_assert_eq!(unsafe { first_diff_block(dst.as_ptr(), src.as_ptr(), blocks) }, Ok(blocks));
            if blocks > 0 {
                let at = flip.index(blocks * BLOCK);
                dst[at] ^= 1;
                // SAFETY: as above.
                let got = unsafe { first_diff_block(dst.as_ptr(), src.as_ptr(), blocks) };
                prop_assert_eq!(got, Ok(at / BLOCK));
            }
        }
    }
}
