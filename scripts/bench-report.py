#!/usr/bin/env python3
"""Turn the guest's raw benchmark lines into build/bench/results.json, docs/bench.svg and the
table in docs/BENCHMARKS.md.  Every number comes from the raw file of one boot; nothing is
typed in.

usage: bench-report.py RAW.jsonl RESULTS.json SVG MARKDOWN [--kernel RELEASE]
"""
import json
import statistics
import sys

# (workload, metric, unit, higher is better, limit used for the fraction, how to scale to bytes/s)
ROWS = [
    ("fault_4k", "ops_per_sec", "faults/s", True, "memcpy", "bytes_per_sec"),
    ("fault_4k", "p50_us", "us (p50)", False, None, None),
    ("fault_4k", "p99_us", "us (p99)", False, None, None),
    ("fault_2m", "ops_per_sec", "faults/s", True, "memcpy", "bytes_per_sec"),
    ("pwrite_unaligned", "ops_per_sec", "ops/s", True, "memcpy", "cow_bytes_per_sec"),
    ("pwrite_unaligned", "bytes_per_sec", "MB/s written", True, None, None),
    ("pwrite_1m_unaligned", "ops_per_sec", "ops/s", True, "memcpy", "bytes_per_sec"),
    ("pwrite_1m_unaligned", "bytes_per_sec", "MB/s written", True, None, None),
    ("dedupe_same", "bytes_per_sec", "GB/s compared", True, "memcmp", "bytes_per_sec"),
    ("dedupe_differ_last_page", "bytes_per_sec", "GB/s compared", True, "memcmp", "bytes_per_sec"),
    ("unshare", "bytes_per_sec", "GB/s copied", True, "memcpy", "bytes_per_sec"),
]
SCALE = {"GB/s compared": 1e-9, "GB/s copied": 1e-9, "MB/s written": 1e-6}


def med(xs):
    return statistics.median(xs) if xs else None


def mann_whitney(x, y):
    """Mann-Whitney U of x against y: (U of x, two-sided p).  Exact over every split of the
    pooled rounds into groups of their sizes when there are few (5 + 5 rounds: 252 splits),
    the normal approximation otherwise.  Ties count a half."""
    import itertools
    import math

    def u_of(a, b):
        return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in a for q in b)

    n1, n2 = len(x), len(y)
    u = u_of(x, y)
    centre = n1 * n2 / 2.0
    pooled = list(x) + list(y)
    if math.comb(n1 + n2, n1) <= 200000:
        extreme = total = 0
        for pick in itertools.combinations(range(n1 + n2), n1):
            chosen = set(pick)
            a = [pooled[i] for i in pick]
            b = [pooled[i] for i in range(n1 + n2) if i not in chosen]
            total += 1
            if abs(u_of(a, b) - centre) >= abs(u - centre) - 1e-9:
                extreme += 1
        return u, extreme / total
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12.0)
    z = (abs(u - centre) - 0.5) / sd
    return u, math.erfc(z / math.sqrt(2))


def verdict(rx, cx, hib, alpha=0.05):
    """Whether the rounds say one engine is faster: overlap of the ranges and the rank test."""
    u, p = mann_whitney(rx, cx)
    overlap = max(min(rx), min(cx)) <= min(max(rx), max(cx))
    rust_higher = u > len(rx) * len(cx) / 2.0
    if p >= alpha:
        word = "no significant difference"
    else:
        word = "Rust faster" if rust_higher == hib else "C faster"
    return {"mann_whitney_u": u, "p_two_sided": p, "ranges_overlap": overlap, "verdict": word}


def main():
    raw, out_json, out_svg, out_md = sys.argv[1:5]
    kernel = sys.argv[sys.argv.index("--kernel") + 1] if "--kernel" in sys.argv else "?"
    runs = [json.loads(l) for l in open(raw) if l.strip()]
    errors = [r for r in runs if r["result"].get("workload") == "error"]
    by = {}
    for r in runs:
        res = r["result"]
        by.setdefault((r["engine"], res.get("workload")), []).append(res)
    limit = {
        "memcpy": med([x["memcpy_bytes_per_sec"] for x in by.get(("limit", "limit"), [])]),
        "memcmp": med([x["memcmp_bytes_per_sec"] for x in by.get(("limit", "limit"), [])]),
    }
    rows = []
    for wl, metric, unit, hib, lim, bytes_key in ROWS:
        per = {}
        for eng in ("rust", "c"):
            xs = [x[metric] for x in by.get((eng, wl), []) if metric in x]
            bs = [x[bytes_key] for x in by.get((eng, wl), []) if bytes_key and bytes_key in x]
            per[eng] = (xs, med(bs))
        (rx, rb), (cx, cb) = per["rust"], per["c"]
        if not rx or not cx:
            continue
        rm, cm = med(rx), med(cx)
        ratio = (rm / cm) if hib else (cm / rm)
        rows.append({
            "workload": wl,
            "metric": metric,
            "unit": unit,
            "higher_is_better": hib,
            "rust_median": rm,
            "c_median": cm,
            "rust_over_c": ratio,
            "limit": lim,
            "rust_fraction_of_limit": (rb / limit[lim]) if lim and rb and limit[lim] else None,
            "c_fraction_of_limit": (cb / limit[lim]) if lim and cb and limit[lim] else None,
            "rounds": min(len(rx), len(cx)),
            **verdict(rx, cx, hib),
            "rust_spread": [min(rx), max(rx)],
            "c_spread": [min(cx), max(cx)],
        })
    result = {"kernel": kernel, "limits_bytes_per_sec": limit, "errors": len(errors), "workloads": rows}
    with open(out_json, "w") as f:
        json.dump(result, f, indent=1)
    write_svg(rows, out_svg)
    write_table(result, out_md)


def fmt(v, unit):
    v = v * SCALE.get(unit, 1)
    return "%.3g" % v


def write_svg(rows, path):
    """Horizontal bars: Rust/C per workload (right of 1.0 means Rust is faster)."""
    w, bar_h, gap, left, top = 760, 22, 10, 290, 40
    h = top + len(rows) * (bar_h + gap) + 40
    xmax = max([2.0] + [r["rust_over_c"] * 1.1 for r in rows])
    sx = lambda v: left + (w - left - 20) * v / xmax
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14">Rust engine / in-tree C, same boot (higher is better for Rust)</text>']
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        color = "#2a7" if r["rust_over_c"] >= 1.0 else "#c44"
        out.append('<text x="%d" y="%d" text-anchor="end">%s %s</text>' % (left - 8, y + 15, r["workload"], r["unit"]))
        out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y, sx(r["rust_over_c"]) - left, bar_h, color))
        out.append('<text x="%.1f" y="%d">%.2f</text>' % (sx(r["rust_over_c"]) + 4, y + 15, r["rust_over_c"]))
    x1 = sx(1.0)
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black" stroke-dasharray="4,3"/>' % (x1, top - 8, x1, h - 30))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">1.0 (parity)</text>' % (x1, h - 14))
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def write_table(result, path):
    lines = ["| workload | unit | Rust median | C median | Rust/C | rounds | Rust min-max | C min-max | ranges overlap | Mann-Whitney p | verdict (p < 0.05) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["workloads"]:
        lines.append("| %s | %s | %s | %s | %.2f | %d | %s-%s | %s-%s | %s | %.3f | %s |" % (
            r["workload"], r["unit"], fmt(r["rust_median"], r["unit"]), fmt(r["c_median"], r["unit"]),
            r["rust_over_c"], r["rounds"],
            fmt(r["rust_spread"][0], r["unit"]), fmt(r["rust_spread"][1], r["unit"]),
            fmt(r["c_spread"][0], r["unit"]), fmt(r["c_spread"][1], r["unit"]),
            "yes" if r["ranges_overlap"] else "no", r["p_two_sided"], r["verdict"]))
    lim = result["limits_bytes_per_sec"]
    lines.append("")
    lines.append("The emulator's own speed, for scale (userspace `memcpy`/`memcmp` on a DAX mapping of the same pmem, under TCG; it bounds nothing): memcpy %.2f GB/s, memcmp %.2f GB/s. Kernel %s. Failed runs: %d." % (
        (lim["memcpy"] or 0) / 1e9, (lim["memcmp"] or 0) / 1e9, result["kernel"], result["errors"]))
    table = "\n".join(lines)
    try:
        doc = open(path).read()
    except FileNotFoundError:
        doc = "<!-- bench table -->\n<!-- /bench table -->\n"
    a, b = "<!-- bench table -->", "<!-- /bench table -->"
    doc = doc[: doc.index(a) + len(a)] + "\n" + table + "\n" + doc[doc.index(b):]
    open(path, "w").write(doc)


main()
