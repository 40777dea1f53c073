#!/usr/bin/env python3
"""Turn build/bench/native.json (`make bench-native`) into docs/bench-native.svg and the native
table and goals of docs/BENCHMARKS.md.  Every number comes from the JSON; nothing is typed in.

usage: bench-native-report.py NATIVE.json SVG MARKDOWN
"""
import html
import json
import sys

CASES = ["4k_hot", "4k_cold", "2m_hot", "2m_cold", "1g_cold"]
LABEL = {"4k_hot": "4 KiB hot", "4k_cold": "4 KiB cold", "2m_hot": "2 MiB hot",
         "2m_cold": "2 MiB cold", "1g_cold": "1 GiB cold"}
DAXCOW_COPY, C_DURABLE, C_PLAIN = "daxcow_copy", "c_copy_mc_clwb", "c_copy_mc"
DAXCOW_CMP, C_CMP = "daxcow_compare", "c_memcmp"


def load(path):
    data = json.load(open(path))
    by = {(r["case"], r["routine"]): r for r in data["results"]}
    return data, by


def best(data, case, kind):
    rows = [r for r in data["results"]
            if r["case"] == case and r["side"] == "limit" and r["kind"] == kind]
    return max(rows, key=lambda r: r["gbps"]) if rows else None


def summarize(data, by):
    """Per case: the figures the goals are judged on."""
    out = {}
    for case in CASES:
        d, c, p = by.get((case, DAXCOW_COPY)), by.get((case, C_DURABLE)), by.get((case, C_PLAIN))
        dc, cc = by.get((case, DAXCOW_CMP)), by.get((case, C_CMP))
        lim_w, lim_r = best(data, case, "durable_copy"), best(data, case, "compare")
        if not (d and c and p and dc and cc and lim_w and lim_r):
            continue
        out[case] = {
            "copy": d["gbps"], "c_durable": c["gbps"], "c_plain": p["gbps"],
            "durable_limit": lim_w["gbps"], "durable_limit_by": lim_w["routine"],
            "copy_vs_c": d["gbps"] / c["gbps"], "copy_of_limit": d["gbps"] / lim_w["gbps"],
            "copy_vs_c_plain": d["gbps"] / p["gbps"],
            "compare": dc["gbps"], "c_compare": cc["gbps"],
            "read_limit": lim_r["gbps"], "read_limit_by": lim_r["routine"],
            "compare_vs_c": dc["gbps"] / cc["gbps"], "compare_of_limit": dc["gbps"] / lim_r["gbps"],
        }
    return out


def goals(s):
    """(goal, cases judged, met?, the figures) for the four native goals."""
    def judge(name, cases, key, bound, fmt):
        got = [(c, s[c][key]) for c in cases if c in s]
        met = bool(got) and all(v >= bound for _, v in got)
        return (name, met, ", ".join("%s %s" % (LABEL[c], fmt(v)) for c, v in got))
    x = lambda v: "%.2fx" % v
    pc = lambda v: "%.0f%%" % (100 * v)
    return [
        judge("Durable copy, Rust/C >= 1.0 at every size", CASES, "copy_vs_c", 1.0, x),
        judge("daxcow's copy >= 90% of the machine's durable-copy limit", CASES,
              "copy_of_limit", 0.9, pc),
        judge("Compare >= 1.5x the C memcmp at 4 KiB and 2 MiB",
              ["4k_hot", "4k_cold", "2m_hot", "2m_cold"], "compare_vs_c", 1.5, x),
        judge("Compare >= 90% of the read limit at 1 GiB", ["1g_cold"], "compare_of_limit", 0.9, pc),
    ]


def g(v):
    return "%.1f" % v if v >= 10 else "%.2f" % v


def table(data, by, s):
    m = data["machine"]
    lines = []
    lines.append("CPU: %s (%s), flags: %s; %s; pinned to CPU %d; TSC %.2f GHz. "
                 "Buffers in DRAM (no pmem here): CPU-side figures. C routines from Linux %s. "
                 "%s; the other CPUs were %.0f%% busy during the run."
                 % (m["cpu"], m["vendor"], m["flags"],
                    "a virtual machine's CPU: instructions run natively on the host's silicon"
                    if m["hypervisor"] else "bare metal",
                    m["pinned_cpu"], m["tsc_ghz"], m["kernel_source"],
                    m["idle_note"], m["others_busy_percent_during_run"]))
    if m.get("fpu_save_restore_ns"):
        lines.append("")
        lines.append("Saving and restoring the vector register state (`xsaveopt` + `xrstor` of "
                     "every component, all `zmm` in use; what `kernel_fpu_begin()` and the "
                     "return to user space cost a vector loop in the kernel): %.0f ns."
                     % m["fpu_save_restore_ns"])
    lines.append("")
    lines.append("**Copy** (GB/s, median; durable = out of the CPU cache and fenced):")
    lines.append("")
    lines.append("| case | daxcow | C + clwb + sfence | Rust/C | durable limit | daxcow % of limit "
                 "| C plain (left in cache) | daxcow / C plain |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for c in CASES:
        if c not in s:
            continue
        r = s[c]
        lines.append("| %s | %s | %s | %.2f | %s (%s) | %.0f%% | %s | %.2f |" % (
            LABEL[c], g(r["copy"]), g(r["c_durable"]), r["copy_vs_c"], g(r["durable_limit"]),
            r["durable_limit_by"], 100 * r["copy_of_limit"], g(r["c_plain"]),
            r["copy_vs_c_plain"]))
    lines.append("")
    lines.append("**Compare** of equal ranges (GB/s of each range, median):")
    lines.append("")
    lines.append("| case | daxcow | C memcmp | Rust/C | read limit | daxcow % of limit |")
    lines.append("|---|---|---|---|---|---|")
    for c in CASES:
        if c not in s:
            continue
        r = s[c]
        lines.append("| %s | %s | %s | %.2f | %s (%s) | %.0f%% |" % (
            LABEL[c], g(r["compare"]), g(r["c_compare"]), r["compare_vs_c"], g(r["read_limit"]),
            r["read_limit_by"], 100 * r["compare_of_limit"]))
    lines.append("")
    lines.append("**Goals** (judged by `scripts/bench-native-report.py` from the JSON):")
    lines.append("")
    for name, met, figs in goals(s):
        lines.append("- %s: **%s** (%s)." % (name, "met" if met else "not met", figs))
    lines.append("")
    lines.append("<details><summary>Every routine (GB/s, median; interquartile range in % of "
                 "the median; samples)</summary>")
    lines.append("")
    lines.append("| routine | kind | " + " | ".join(LABEL[c] for c in CASES) + " | what |")
    lines.append("|---|---|" + "---|" * len(CASES) + "---|")
    names = []
    for r in data["results"]:
        if r["routine"] not in names:
            names.append(r["routine"])
    for n in names:
        cells = []
        kind = what = ""
        for c in CASES:
            r = by.get((c, n))
            if not r:
                cells.append("")
                continue
            kind, what = r["kind"], r["what"]
            iqr = 100 * (r["p75_ns"] - r["p25_ns"]) / r["median_ns"]
            cells.append("%s (%.0f%%, %d)" % (g(r["gbps"]), iqr, r["samples"]))
        lines.append("| %s | %s | %s | %s |" % (n, kind, " | ".join(cells), what))
    lines.append("")
    lines.append("</details>")
    return "\n".join(lines)


def write_svg(s, path):
    panels = [("Copy (durable)", [("daxcow", "copy", "#c0392b"), ("C + clwb", "c_durable", "#2c3e50"),
                                  ("limit", "durable_limit", "#95a5a6")]),
              ("Compare", [("daxcow", "compare", "#c0392b"), ("C memcmp", "c_compare", "#2c3e50"),
                           ("limit", "read_limit", "#95a5a6")])]
    cases = [c for c in CASES if c in s]
    bar, gap, left, pw = 9, 10, 90, 330
    ph = len(cases) * (3 * bar + gap) + 40
    w, h = left + 2 * (pw + 40), ph + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="16" font-size="13">make bench-native: GB/s, median, on this CPU '
           '(DRAM)</text>' % left]
    for pi, (title, series) in enumerate(panels):
        x0 = left + pi * (pw + 40)
        top = max(s[c][k] for c in cases for _, k, _ in series)
        out.append('<text x="%d" y="36" font-weight="bold">%s</text>' % (x0, html.escape(title)))
        y = 46
        for c in cases:
            if pi == 0:
                out.append('<text x="4" y="%d">%s</text>' % (y + 2 * bar, LABEL[c]))
            for name, k, color in series:
                v = s[c][k]
                bw = max(1, pw * v / top)
                out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                           % (x0, y, bw, bar - 1, color))
                out.append('<text x="%.1f" y="%d" font-size="9">%s %s</text>'
                           % (x0 + bw + 3, y + bar - 2, html.escape(name), g(v)))
                y += bar
            y += gap
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def main():
    src, svg, md = sys.argv[1:4]
    data, by = load(src)
    s = summarize(data, by)
    write_svg(s, svg)
    text = open(md).read()
    start, end = "<!-- native table -->", "<!-- /native table -->"
    if start not in text or end not in text:
        sys.exit("bench-native-report: %s has no %s ... %s markers" % (md, start, end))
    a, rest = text.split(start, 1)
    _, b = rest.split(end, 1)
    open(md, "w").write(a + start + "\n" + table(data, by, s) + "\n" + end + b)
    print(table(data, by, s))


if __name__ == "__main__":
    main()
