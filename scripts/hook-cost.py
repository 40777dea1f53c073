#!/usr/bin/env python3
"""What the engine hook costs the built-in code when no engine is registered, read from the code.

usage: hook-cost.py ON.o OFF.o

ON.o is fs/dax.o built with CONFIG_FS_DAX_COW_ENGINE, OFF.o the same source without it (7.3 plus
the fix patches); both after objtool, which turns each static-key jump into a NOP.  For every
function of OFF.o, the code of ON.o is taken apart into the path that runs with no engine and
the out-of-line blocks the static keys jump to (from the key's jump table up to the first
unconditional jump or return, each).  On the no-engine path the hook may cost its NOPs and
whatever the compiler's register allocation shuffles (a few moves more or fewer, reported),
but no call, atomic or fence that the code without the hook does not have: an SRCU read-side
section, a module reference or an out-of-line engine call there fails the check (exit 1).
"""
import re
import subprocess
import sys


def functions(obj):
    """{name: [(address, mnemonic, callee)]} of .text; callee is the called symbol of a call
    (from its relocation), else None."""
    out = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", "-j", ".text", obj],
                         capture_output=True, text=True, check=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(2), [])
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+R_X86_64_(PLT32|PC32)\s+([^+\-\s]+)", line)
        if m and cur and cur[-1][1].startswith("call") and cur[-1][2] is None:
            cur[-1] = (cur[-1][0], cur[-1][1], m.group(2))
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)(.*)$", line)
        if m and cur is not None:
            mnem = m.group(2)
            if mnem == "lock":
                mnem = "lock " + m.group(3).split()[0]
            cur.append((int(m.group(1), 16), mnem, None))
    return funcs


def jump_table(obj):
    """[(site, target)] from __jump_table: each entry is site, target, key (PC-relative)."""
    out = subprocess.run(["objdump", "-r", "-j", "__jump_table", obj],
                         capture_output=True, text=True).stdout
    rel = {}
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+)\s+R_X86_64_PC32\s+\.text\+0x([0-9a-f]+)", line)
        if m:
            rel[int(m.group(1), 16)] = int(m.group(2), 16)
    # `.long label - .` is relocated against .text with the label's offset as the addend.
    return [(rel[off], rel[off + 4]) for off in sorted(rel) if off % 16 == 0 and off + 4 in rel]


def strip_padding(ins):
    while ins and ins[-1][1] in ("nop", "nopl", "nopw", "int3", "data16", "cs"):
        ins = ins[:-1]
    return ins


# Instructions that cost more than their slot: calls (by callee), atomics and fences.
def costly(ins):
    out = []
    for _, m, callee in ins:
        if m.startswith("call"):
            out.append("call " + (callee or "?"))
        elif m.startswith("lock") or m in ("mfence", "sfence", "lfence", "xchg"):
            out.append(m)
    return sorted(out)


def main():
    on_o, off_o = sys.argv[1:3]
    on, off = functions(on_o), functions(off_o)
    sites = jump_table(on_o)
    site_addrs = {s for s, _ in sites}
    targets = {t for _, t in sites}
    failed = False
    rows = []
    for name, off_ins in sorted(off.items()):
        on_ins = on.get(name)
        if on_ins is None:
            continue
        addrs = [i[0] for i in on_ins]
        here = [s for s in site_addrs if addrs[0] <= s <= addrs[-1]]
        if not here and [i[1] for i in strip_padding(on_ins)] == [
            i[1] for i in strip_padding(off_ins)
        ]:
            continue
        hot, cold, in_cold = [], 0, False
        for a, m, callee in on_ins:
            if a in targets:
                in_cold = True
            if in_cold:
                cold += 1
                if m.startswith("jmp") or m.startswith("ret"):
                    in_cold = False
                continue
            if a in site_addrs:
                continue
            hot.append((a, m, callee))
        hot, base = strip_padding(hot), strip_padding(off_ins)
        added = [c for c in costly(hot)]
        for c in costly(base):
            if c in added:
                added.remove(c)
        failed |= bool(added)
        rows.append((name, len(base), len(here), cold, len(hot) - len(base), added))
    print("| function | instructions without the hook | hook sites (one 5-byte NOP each) "
          "| out-of-line instructions | no-engine path: instructions more (+) or fewer (-) "
          "| calls, atomics or fences added |")
    print("|---|---|---|---|---|---|")
    for name, n, k, c, delta, added in rows:
        print("| `%s` | %d | %d | %d | %+d | %s |" % (name, n, k, c, delta,
                                                  ", ".join(added) if added else "none"))
    sys.exit(1 if failed else 0)


main()
