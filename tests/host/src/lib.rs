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
