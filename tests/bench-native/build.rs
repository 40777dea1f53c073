//! Builds the C side of `make bench-native` from the 7.3 tree that `make kernel` unpacked:
//!
//! - `arch/x86/lib/copy_mc_64.S` (`copy_mc_enhanced_fast_string`, `copy_mc_fragile`), assembled
//!   as it is, through a shim for the three kernel headers it includes (`SYM_FUNC_*`, `RET`,
//!   and the exception-table macros, which expand to nothing: there is no kernel to recover);
//! - `memcmp()` from `lib/string.c` and `__memcpy_flushcache()` with `clean_cache_range()` from
//!   `arch/x86/lib/usercopy_64.c`, cut out of those files by their signatures and compiled with
//!   the code-generation flags the kernel build used for them (read from its `.o.cmd` files),
//!   under a prefix so they do not clash with the C library's.
//!
//! And it gives `src/mcsafe.rs` (the module's own file) an empty exception-table string: the
//! loops are the module's instruction sequences without their `__ex_table` entries.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let top = manifest.join("../..");
    let src = env::var_os("DAXCOW_KERNEL_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| top.join("build/linux"));
    let obj = env::var_os("DAXCOW_KERNEL_OBJ")
        .map(PathBuf::from)
        .unwrap_or_else(|| src.join("out-default"));
    for v in ["DAXCOW_KERNEL_SRC", "DAXCOW_KERNEL_OBJ"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo:rerun-if-changed=../../src/mcsafe.rs");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    if !src.join("lib/string.c").exists() || !obj.join("lib/.string.o.cmd").exists() {
        panic!(
            "bench-native needs the kernel tree and its build (make kernel): no {} or {}",
            src.join("lib/string.c").display(),
            obj.join("lib/.string.o.cmd").display()
        );
    }

    // src/mcsafe.rs include!()s "$DAXCOW_OBJ/src/mcsafe_extable.rs", a string of directives.
    fs::create_dir_all(out.join("src")).unwrap();
    fs::write(
        out.join("src/mcsafe_extable.rs"),
        "\"\" // no exception table outside the kernel\n",
    )
    .unwrap();
    println!("cargo:rustc-env=DAXCOW_OBJ={}", out.display());

    build_copy_mc(&src, &out);
    build_cut_c(&src, &obj, &out);
    println!(
        "cargo:rustc-env=DAXCOW_KERNEL_VERSION={}",
        kernel_version(&src)
    );
}

/// `copy_mc_64.S` as it is, with the kernel's linkage and extable macros shimmed.
fn build_copy_mc(src: &Path, out: &Path) {
    let shim = out.join("shim");
    fs::create_dir_all(shim.join("linux")).unwrap();
    fs::create_dir_all(shim.join("asm")).unwrap();
    fs::write(
        shim.join("linux/linkage.h"),
        "/* bench-native: the kernel's function linkage, without alignment padding policy. */\n\
         #define SYM_FUNC_START(name) .text; .p2align 4; .globl name; .type name, @function; name:\n\
         #define SYM_FUNC_END(name) .size name, . - name\n\
         #define RET ret; int3\n",
    )
    .unwrap();
    fs::write(
        shim.join("asm/asm.h"),
        "/* bench-native: no exception tables outside the kernel. */\n\
         #define _ASM_EXTABLE_TYPE(from, to, type)\n\
         #define _ASM_EXTABLE(from, to)\n",
    )
    .unwrap();
    // copy_mc_fragile's write-fault path jumps here; no write faults in the bench.
    fs::write(
        out.join("handle_tail.c"),
        "#include <stdlib.h>\nvoid copy_mc_fragile_handle_tail(void) { abort(); }\n",
    )
    .unwrap();
    let asm = src.join("arch/x86/lib/copy_mc_64.S");
    println!("cargo:rerun-if-changed={}", asm.display());
    cc::Build::new()
        .compiler("clang-19")
        .include(&shim)
        .define("CONFIG_X86_MCE", None)
        .file(&asm)
        .file(out.join("handle_tail.c"))
        .compile("copy_mc");
}

/// The function starting at the line that begins with `signature`, through the first line that
/// is exactly `}`.
fn cut_function(file: &Path, signature: &str) -> String {
    let text = fs::read_to_string(file).unwrap();
    let start = text
        .find(&format!("\n{signature}"))
        .unwrap_or_else(|| panic!("{}: no `{signature}`", file.display()))
        + 1;
    let end = text[start..]
        .find("\n}\n")
        .unwrap_or_else(|| panic!("{}: `{signature}` has no end", file.display()))
        + start
        + 3;
    text[start..end].to_string()
}

/// The code-generation flags of a kernel object's compile line: `-f*`, `-m*` and `-O*`, less
/// those that only make sense in the kernel's address space and the warnings.
fn kernel_codegen_flags(cmd: &Path) -> Vec<String> {
    let text = fs::read_to_string(cmd).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("savedcmd_"))
        .unwrap_or_else(|| panic!("{}: no command line", cmd.display()));
    line.split_whitespace()
        .filter(|f| f.starts_with("-f") || f.starts_with("-m") || f.starts_with("-O"))
        .filter(|f| {
            !matches!(
                *f,
                "-mcmodel=kernel" | "-fno-PIE" | "-fmacro-prefix-map=../=" | "-fms-extensions"
            )
        })
        .map(str::to_string)
        .collect()
}

/// `memcmp()` and `__memcpy_flushcache()`, cut from the tree and compiled as the kernel did.
fn build_cut_c(src: &Path, obj: &Path, out: &Path) {
    let string_c = src.join("lib/string.c");
    let usercopy_c = src.join("arch/x86/lib/usercopy_64.c");
    println!("cargo:rerun-if-changed={}", string_c.display());
    println!("cargo:rerun-if-changed={}", usercopy_c.display());

    let memcmp = cut_function(&string_c, "__visible int memcmp(");
    let memcmp_c = out.join("kernel_memcmp.c");
    fs::write(
        &memcmp_c,
        format!(
            "/* Cut from lib/string.c by bench-native's build.rs; x86-64 has efficient unaligned\n \
             * access, and get_unaligned() is include/vdso/unaligned.h's packed-struct load. */\n\
             #include <stddef.h>\n\
             #define __visible\n\
             #define CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS 1\n\
             #define get_unaligned(ptr) ({{ const struct {{ __typeof__(*(ptr)) x; }} \
             __attribute__((__packed__)) *__pptr = (__typeof__(__pptr))(ptr); __pptr->x; }})\n\
             #define memcmp kernel_memcmp\n\
             int kernel_memcmp(const void *cs, const void *ct, size_t count);\n\
             {memcmp}"
        ),
    )
    .unwrap();
    let mut b = cc::Build::new();
    b.compiler("clang-19").warnings(false).opt_level(2);
    for f in kernel_codegen_flags(&obj.join("lib/.string.o.cmd")) {
        b.flag(&f);
    }
    b.file(&memcmp_c).compile("kernel_memcmp");

    let clean = cut_function(&usercopy_c, "static void clean_cache_range(");
    let flushcache = cut_function(&usercopy_c, "void __memcpy_flushcache(");
    let flushcache_c = out.join("kernel_flushcache.c");
    fs::write(
        &flushcache_c,
        format!(
            "/* Cut from arch/x86/lib/usercopy_64.c by bench-native's build.rs.  clwb() is\n \
             * special_insns.h's with the CLWB alternative applied (this CPU has it). */\n\
             #include <stddef.h>\n\
             typedef unsigned short u16;\n\
             static const struct {{ u16 x86_clflush_size; }} boot_cpu_data = {{ 64 }};\n\
             #define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)\n\
             #define ALIGN(x, a) (((x) + ((__typeof__(x))(a) - 1)) & ~((__typeof__(x))(a) - 1))\n\
             #define min_t(type, x, y) ((type)(x) < (type)(y) ? (type)(x) : (type)(y))\n\
             #define memcpy __builtin_memcpy\n\
             static inline void clwb(volatile void *__p)\n\
             {{\n\
             \tvolatile struct {{ char x[64]; }} *p = __p;\n\
             \tasm volatile(\"clwb %0\" : \"+m\" (*p));\n\
             }}\n\
             #define __memcpy_flushcache kernel_memcpy_flushcache\n\
             void kernel_memcpy_flushcache(void *_dst, const void *_src, size_t size);\n\
             {clean}\n{flushcache}"
        ),
    )
    .unwrap();
    let mut b = cc::Build::new();
    b.compiler("clang-19").warnings(false).opt_level(2);
    for f in kernel_codegen_flags(&obj.join("arch/x86/lib/.usercopy_64.o.cmd")) {
        b.flag(&f);
    }
    b.file(&flushcache_c).compile("kernel_flushcache");
}

fn kernel_version(src: &Path) -> String {
    let mk = fs::read_to_string(src.join("Makefile")).unwrap_or_default();
    let field = |k: &str| {
        mk.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    format!(
        "{}.{}.{}",
        field("VERSION = "),
        field("PATCHLEVEL = "),
        field("SUBLEVEL = ")
    )
}
