// SPDX-License-Identifier: GPL-2.0

//! What backs a range of a file, as the engine needs to know it.

/// The kind of an extent, from `struct iomap`'s type.
///
/// In C a copy-on-write source that is a hole shows up as the destination iomap itself, flagged
/// `IOMAP_F_SHARED`; here the three cases the engine distinguishes are explicit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentKind {
    /// No blocks: reads as zeroes.
    Hole,
    /// Allocated but never written: reads as zeroes.
    Unwritten,
    /// Written blocks with data.
    Mapped,
}

impl ExtentKind {
    /// Whether reading the extent means reading its blocks (else it reads as zeroes).
    // The module decides by `dax_cow::Source`; the host tests' models use this.
    #[allow(dead_code)]
    pub fn has_data(self) -> bool {
        matches!(self, ExtentKind::Mapped)
    }

    /// Whether the extent has blocks on the device (that can be mapped).
    pub fn has_blocks(self) -> bool {
        matches!(self, ExtentKind::Mapped | ExtentKind::Unwritten)
    }
}
