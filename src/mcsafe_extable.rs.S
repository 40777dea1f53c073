/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exception-table entries of src/mcsafe.rs's loops, written by the
 * kernel's own _ASM_EXTABLE_TYPE() with its EX_TYPE_DEFAULT_MCE_SAFE, so the
 * section flags, entry layout and fixup type are those of the kernel being
 * built.  Each load at local labels 21 to 28 of an asm! block resumes at
 * label 31 after a machine check (or a page fault) on it.  Kbuild runs this
 * through the C preprocessor into a Rust string expression (the way
 * rust/kernel gets its arch asm strings) that mcsafe.rs include!()s.
 */
#include <linux/stringify.h>
#include <asm/asm.h>
#include <asm/extable_fixup_types.h>

// Cut here.

::kernel::concat_literals!(
	_ASM_EXTABLE_TYPE(21b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(22b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(23b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(24b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(25b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(26b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(27b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
	_ASM_EXTABLE_TYPE(28b, 31b, EX_TYPE_DEFAULT_MCE_SAFE)
)
