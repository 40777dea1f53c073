#!/usr/bin/env python3
"""Self-tests of the fstests runner (qemu/fstests) on the host, without a guest or fstests.

A fake fstests tree (just the files the runner looks at) and a fake guest boot (qemu/fstests'
run_boot replaced by a script of what each test does under each engine) drive the real
run/resume/report code: a tree that is not built is refused, a test that kills or hangs the
guest is blamed and the rest of its boot runs again, Ctrl-C keeps what finished and blames no
test, --resume finishes the run (also from the committed record on a fresh clone), takes over
what a boot of a killed runner finished, judging its console as qemu/run would (and not another
run's boot, a boot whose guest still runs, or tests --rerun names), and refuses a different build, --rerun replaces the results
of the tests it names, a Rust-only failure or an unlisted failure fails the run, every kernel
report in any boot's console fails the test it began in (an expected/ report:FUNCTION only if
every report is a bare stack dump through FUNCTION), and a runner thread that raises stops the other engine too.
Prints one PASS:/FAIL: line per case.
"""

import argparse
import contextlib
import fcntl
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_runner():
    sys.dont_write_bytecode = True    # no __pycache__ beside qemu/fstests
    loader = importlib.machinery.SourceFileLoader("fstests_runner",
                                                  os.path.join(TOP, "qemu", "fstests"))
    spec = importlib.util.spec_from_loader("fstests_runner", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def make_tree(root, built=True):
    """The files of an fstests tree the runner reads: check, two built programs, group lists."""
    os.makedirs(os.path.join(root, "ltp"))
    os.makedirs(os.path.join(root, "src"))
    os.makedirs(os.path.join(root, "tests", "generic"))
    os.makedirs(os.path.join(root, "tests", "xfs"))
    open(os.path.join(root, "check"), "w").close()
    if built:
        for f in ("ltp/fsx", "src/godown"):
            open(os.path.join(root, f), "w").close()
        with open(os.path.join(root, "tests", "generic", "group.list"), "w") as f:
            f.write("# generic\n001 auto clone quick\n002 auto dax\n010 clone\n"
                    "011 clone dedupe\n012 clone\n003 auto\n")
        with open(os.path.join(root, "tests", "xfs", "group.list"), "w") as f:
            f.write("100 auto clone\n101 dax realtime\n")
    return root


CONSOLE_DIRS = []   # the fake guests' console logs, removed at the end
# The runner's paths into the checkout that the cases may leave alone: the checkout itself (the
# runner reads qemu/run's report pattern from it).
CHECKOUT_PATHS_READ = ("TOP",)


class FakeGuest:
    """Stands in for run_boot.  plan[engine][test] is what the test does in a boot of that
    engine (plan["ENGINE@SECTION"][test] in one section only): pass (default), fail, notrun,
    notrun-other (not run, for a reason of its own), die (the guest dies during it), stuck
    (qemu/run's timeout ends the guest, whose watchdog never fired), hang (the watchdog
    stops it), panic (the kernel panics during it), report (it passes, but the kernel logs a
    WARNING while it runs), trace (the same with an XFS error dump, no WARNING line), sigint
    (Ctrl-C arrives while it runs), raise (the runner itself fails); reports first, then an
    action, joined by "+" (report+hang: a WARNING, then the watchdog).  An action given as a list is used up one boot at a time (then the test passes).
    Each boot writes a console log as qemu/run keeps one, with fstests' "run fstests" lines."""

    def __init__(self, plan=None, boot_seconds=0.0):
        self.console_dir = tempfile.mkdtemp(prefix="daxcow-fake-console.")
        CONSOLE_DIRS.append(self.console_dir)
        self.plan = plan or {}
        self.boot_seconds = boot_seconds
        self.boots = []        # (engine, tests) per boot, in order
        self.ran = {}          # (engine, test) -> times started

    def action(self, engine, test, section):
        a = self.plan.get("%s@%s" % (engine, section), {}).get(test) or \
            self.plan.get(engine, {}).get(test, "pass")
        if isinstance(a, list):
            return a.pop(0) if a else "pass"
        return a

    def __call__(self, args, engine, section, tests, boot_no, tree_copy):
        self.boots.append((engine, list(tests)))
        time.sleep(self.boot_seconds)
        got, running, status = {}, None, 0
        label = "%s-%s-%03d" % (engine, section, boot_no)
        os.makedirs(self.console_dir, exist_ok=True)
        console = os.path.join(self.console_dir, label + ".console.log")
        log = ["[    1.000000] Linux version 7.3.4 (fake)"]
        for t in tests:
            self.ran[(engine, t)] = self.ran.get((engine, t), 0) + 1
            a = self.action(engine, t, section)
            if a == "raise":
                raise RuntimeError("planted runner failure at %s" % t)
            log.append("[    2.000000] run fstests %s at 2026-11-26 07:00:00" % t)
            # "report+hang": the kernel reports, then the test hangs.
            reports = [p for p in a.split("+") if p in ("report", "trace", "kasan")]
            a = ([p for p in a.split("+") if p not in reports] or ["pass"])[0]
            for r in reports:
                if r == "report":
                    log += ["[    3.000000] ------------[ cut here ]------------",
                            "[    3.000000] WARNING: fs/dax.c:1234 at planted_warning+0x10/0x20",
                            "[    3.000000] Modules linked in: daxcow",
                            "[    3.000000] RIP: 0010:planted_warning+0x10/0x20",
                            "[    3.000000] Call Trace:",
                            "[    3.000000]  <TASK>",
                            "[    3.000000]  planted_caller+0x20/0x40",
                            "[    3.000000]  </TASK>",
                            "[    3.000000] ---[ end trace 0000000000000000 ]---"]
                elif r == "trace":
                    # A report with neither WARNING nor BUG: an XFS error dump.
                    log += ["[    3.000000] XFS (pmem1): Internal error xfs_planted at line 1",
                            "[    3.000000] CPU: 0 UID: 0 PID: %d Comm: fio" % (3000 + len(log)),
                            "[    3.000000] Call Trace:",
                            "[    3.000000]  <TASK>",
                            "[    3.000000]  dump_stack_lvl+0x33/0x70",
                            "[    3.000000]  xfs_error_report+0x3e/0x40",
                            # Where it was cancelled from differs between two hits.
                            "[    3.000000]  xfs_planted_cancel+0x%x/0x1d0" % (0x90 + len(log)),
                            "[    3.000000]  ? xfs_planted_unreliable+0x10/0x20",
                            "[    3.000000]  </TASK>"]
                elif r == "kasan":
                    # A report in the very function a known dump names.
                    log += ["[    3.000000] BUG: KASAN: slab-use-after-free in "
                            "xfs_planted_cancel+0x10/0x1d0",
                            "[    3.000000] Call Trace:",
                            "[    3.000000]  <TASK>",
                            "[    3.000000]  xfs_planted_cancel+0x10/0x1d0",
                            "[    3.000000]  </TASK>"]
                status = 126
            if a == "panic":
                log += ["[    3.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008",
                        "[    3.000000] RIP: 0010:planted_oops+0x10/0x20",
                        "[    3.000000] Kernel panic - not syncing: Fatal exception"]
            if a == "late_hang":
                # The watchdog fires as the test ends: check announces the next test (which
                # may report) in the seconds before the watchdog's reboot.
                log += ["[  903.000000] daxcow fstests watchdog: %s exceeded 900s" % t,
                        "[  908.000000] sysrq: Show Blocked State",
                        "[  908.000000] Call Trace:"]
                a = "pass"
            if a == "hang":
                # The watchdog's sysrq-w dump has Call Traces of its own: not reports.
                log += ["[  903.000000] daxcow fstests watchdog: %s exceeded 900s" % t,
                        "[  908.000000] sysrq: Show Blocked State",
                        "[  908.000000] task:xfs_io state:D stack:0 pid:812",
                        "[  908.000000] Call Trace:",
                        "[  908.000000]  <TASK>",
                        "[  908.000000]  schedule+0x2d/0x90",
                        "[  908.000000]  </TASK>"]
            if a in ("die", "hang", "stuck", "sigint", "panic"):
                running = t
                # stuck: the guest is too stuck for its watchdog, and qemu/run's own timeout
                # ends it (124).
                status = {"die": 125, "hang": 125, "stuck": 124, "sigint": 130, "panic": 125}[a]
                if a == "sigint":
                    # What a Ctrl-C to the process group does: the signal reaches the runner's
                    # main thread while qemu/run, killed too, returns a nonzero status.
                    os.kill(os.getpid(), signal.SIGINT)
                break
            rec = {"status": a, "time": 1.0}
            if a == "notrun":
                rec["reason"] = "planted: not run"
            if a == "notrun-other":
                rec = {"status": "notrun", "time": 1.0, "reason": "planted: not run, another way"}
            if a == "fail":
                # As check writes it: with the absolute path of the .out.bad in this checkout.
                rec["reason"] = "planted: output mismatch (see %s/build/fstests/%s.out.bad)" % (
                    TOP, t)
                rec["diff"] = ["--- planted", "+++ planted.bad"]
            got[t] = rec
        with open(console, "w") as f:
            f.write("\n".join(log) + "\n")
        boot = {"label": label, "engine": engine,
                "section": section, "tests": len(tests), "finished": len(got),
                "qemu_run_status": status, "seconds": 1, "console": console}
        if engine == "rust":
            # As the guest copies daxcow's debugfs stats: one PMD CoW fault per finished test.
            boot["daxcow_stats"] = {"cow_write": 2 * len(got), "cow_fault_pmd": len(got)}
        return got, running, boot


class Case:
    def __init__(self, runner, workdir):
        self.r = runner
        self.work = workdir
        self.tree = make_tree(os.path.join(workdir, "tree"))
        build = os.path.join(workdir, "build")
        # Every directory the runner works in is under this case's own: never the checkout's
        # build/fstests, where a real run may be going on.
        self.shipped = (self.r.SUMMARY, self.r.DOC, self.r.BUILD)   # the runner's own paths
        self.r.BUILD_ROOT = self.r.BUILD = build
        # No case boots a guest: a case that reaches qemu/run fails.
        self.r.QEMU_RUN = "/bin/false"
        self.r.ARTIFACTS = os.path.join(workdir, "artifacts")
        self.r.DOC = os.path.join(workdir, "fstests.md")
        self.r.SUMMARY = os.path.join(workdir, "fstests.json")   # beside the report
        self.r.COMMITTED_SUMMARY, self.r.COMMITTED_DOC = self.r.SUMMARY, self.r.DOC
        self.r.EXPECTED = os.path.join(workdir, "expected")
        self.r.PROJECT_TESTS = os.path.join(workdir, "project-tests")   # none unless a case adds
        self.r.COMMITTED_GROUPS = ["dax", "clone"]   # the selection the cases run
        self.r.COMMITTED_PROFILE = "default"         # and its profile
        self.r.DEBUG_SUMMARY = os.path.join(workdir, "fstests-debug.json")
        self.r.DEBUG_DOC = os.path.join(workdir, "fstests-debug.md")
        self.r.mirror_tree = lambda tree, engine: tree
        self.r.tree_version = lambda tree: "fake-1"
        self.r.series_id = lambda: "series1"
        self.build = "build1"
        self.r.build_id = lambda: self.build
        self.out = io.StringIO()
        # A path of the runner's that this case did not redirect would be the checkout's.
        for name, val in vars(self.r).items():
            if name.isupper() and name not in CHECKOUT_PATHS_READ and isinstance(val, str) \
                    and val.startswith(TOP):
                raise AssertionError("the runner's %s still points into the checkout: %s"
                                     % (name, val))

    def expect(self, section, engine, lines):
        d = os.path.join(self.r.EXPECTED, section)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, engine), "w") as f:
            f.write("".join(l + "\n" for l in lines))

    def run(self, guest, resume=False, jobs=2, per_boot=3, groups="dax clone", tests="",
            rerun="", test_timeout=900, sections="dax", profile="default", rerun_why="",
            rerun_boots=""):
        self.r.run_boot = guest
        args = argparse.Namespace(
            fstests_dir=self.tree, groups=groups, tests=tests, engines="rust,c",
            sections=sections, per_boot=per_boot, test_timeout=test_timeout, jobs=jobs,
            boot_timeout=3600, pmem_mib=4096, mem_mib=3072, profile=profile, resume=resume,
            rerun=rerun, rerun_why=rerun_why, rerun_boots=rerun_boots)
        old = signal.getsignal(signal.SIGINT)
        try:
            with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.out):
                return self.r.cmd_run(args)
        except SystemExit as e:
            return "exit %s" % e.code
        finally:
            signal.signal(signal.SIGINT, old)

    def summary(self):
        with open(self.r.SUMMARY) as f:
            return json.load(f)

    def draft(self, section, engine, like="", debug=False):
        """expected-draft's output: the draft's lines, and its note on stderr."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            self.r.cmd_expected_draft(argparse.Namespace(section=section, engine=engine,
                                                         like=like, debug=debug))
        return out.getvalue().splitlines(), err.getvalue()

    def report(self, path=None):
        with open(path or self.r.DOC) as f:
            return f.read()

    def result(self, test, engine):
        return self.summary()["results"].get(test, {}).get("dax", {}).get(engine)


ALL = ["generic/002", "xfs/101", "generic/001", "generic/010", "generic/011", "generic/012",
       "xfs/100"]   # the dax group, then what clone adds, numerically within each


def case_refuses_trees(c):
    r = c.r
    bad = make_tree(os.path.join(c.work, "unbuilt"), built=False)
    nocheck = os.path.join(c.work, "empty")
    os.makedirs(nocheck)
    for tree, want in (("", "FSTESTS_DIR is not set"),
                       (os.path.join(c.work, "nowhere"), "does not exist"),
                       (nocheck, "has no ./check"),
                       (bad, "is not built (no ltp/fsx)")):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                r.check_tree(tree)
            return "accepted %r" % tree
        except SystemExit as e:
            if e.code != 2 or want not in err.getvalue():
                return "tree %r: exit %s, message %r (wanted %r)" % (tree, e.code,
                                                                    err.getvalue(), want)
    # And through make, as a user meets it.
    p = subprocess.run(["make", "-s", "-C", TOP, "fstests", "FSTESTS_DIR="],
                       capture_output=True, text=True)
    if p.returncode == 0 or "FSTESTS_DIR is not set" not in p.stderr:
        return "make fstests without FSTESTS_DIR: status %d, %r" % (p.returncode, p.stderr)
    return None


def case_selects_groups_in_order(c):
    got = c.r.select_tests(c.tree, ["dax", "clone"], [])
    return None if got == ALL else "selected %r, wanted %r" % (got, ALL)


def case_clean_run(c):
    g = FakeGuest()
    rc = c.run(g)
    if rc != 0:
        return "status %r" % rc
    s = c.summary()
    if "finished" not in s:
        return "summary not marked finished"
    for t in ALL:
        for e in ("rust", "c"):
            if (c.result(t, e) or {}).get("status") != "pass" or g.ran[(e, t)] != 1:
                return "%s under %s: %r, ran %d times" % (t, e, c.result(t, e), g.ran.get((e, t), 0))
    if "Differences between engines (0)" not in c.report():
        return "report does not say there are no differences"
    if max(len(ts) for _, ts in g.boots) > 3:
        return "a boot ran more than --per-boot tests"
    # Before its last boot (of one test), the engine had 6 of the section's 7 done.
    if c.r.SECTION_PROGRESS.get(("rust", "dax")) != (6, 7):
        return "the section's progress before the last boot: %r" % (
            c.r.SECTION_PROGRESS.get(("rust", "dax")),)
    rust_boots = sum(1 for e, _ in g.boots if e == "rust")
    if ("summed over the %d Rust boots of this section that recorded them: `cow_write` %d, "
            "`cow_fault_pte` 0, `cow_fault_pmd` %d," % (rust_boots, 2 * len(ALL), len(ALL))
            not in c.report()):
        return "the report does not sum daxcow's counters over the section's Rust boots"
    return None


def case_rust_only_failure_fails_the_run(c):
    c.expect("dax", "rust", ["generic/010 fail:output planted, listed"])
    rc = c.run(FakeGuest({"rust": {"generic/010": "fail"}}))
    if rc != 1:
        return "status %r, wanted 1 (listed in expected/ but passes under C)" % rc
    rep = c.report()
    if "Differences between engines (1)" not in rep or "| generic/010 | fail | pass |" not in rep:
        return "the difference is not in the report"
    return None


def case_failure_under_both(c):
    plan = {"rust": {"generic/011": "fail"}, "c": {"generic/011": "fail"}}
    rc = c.run(FakeGuest(plan))
    if rc != 1:
        return "unlisted failure under both: status %r, wanted 1" % rc
    if "**NOT EXPECTED**" not in c.report():
        return "the unlisted failure is not marked in the report"
    if TOP + "/" in c.report() or "see build/fstests/generic/011.out.bad" not in c.report():
        return "the report names a machine path, not one relative to the repository"
    # The summary is committed too: neither the checkout's path nor the tree's.
    with open(c.r.SUMMARY) as f:
        text = f.read()
    if TOP + "/" in text or c.tree in text:
        return "the summary names a machine path"
    if c.summary().get("groups_of", {}).get("generic/011") != ["clone", "dedupe"]:
        return "the summary does not keep the tests' groups: %r" % c.summary().get("groups_of")
    c.expect("dax", "rust", ["generic/011 fail:output planted, listed"])
    c.expect("dax", "c", ["generic/011 fail:output planted, listed"])
    rc = c.run(FakeGuest(plan))
    if rc != 0:
        return "failure under both, listed in expected/: status %r, wanted 0" % rc
    return None


def case_dead_guest_blames_one_test(c):
    g = FakeGuest({"rust": {"generic/001": "die"}, "c": {"generic/010": "hang"}})
    rc = c.run(g, per_boot=7)
    if rc != 1:
        return "status %r, wanted 1 (unexpected failures)" % rc
    died, hung = c.result("generic/001", "rust"), c.result("generic/010", "c")
    if not died or died["status"] != "fail" or died["reason"] != "guest died during the test":
        return "generic/001 under rust: %r" % died
    if not hung or hung["status"] != "fail" or not hung["reason"].startswith("hung:"):
        return "generic/010 under c: %r" % hung
    for t in ALL:   # every other test ran once, in a new boot after the death
        for e in ("rust", "c"):
            if g.ran[(e, t)] != 1:
                return "%s under %s ran %d times" % (t, e, g.ran[(e, t)])
            if (e, t) not in (("rust", "generic/001"), ("c", "generic/010")) \
                    and c.result(t, e)["status"] != "pass":
                return "%s under %s: %r" % (t, e, c.result(t, e))
    lost = [b.get("lost") for b in c.summary()["boots"] if b.get("lost")]
    if sorted(lost) != ["generic/001", "generic/010"]:
        return "boots marked lost: %r" % lost
    return None


def case_interrupt_then_resume(c):
    g = FakeGuest({"rust": {"generic/010": ["sigint"]}}, boot_seconds=0.05)
    rc = c.run(g, jobs=1, per_boot=2)
    if rc != 130:
        return "interrupted run: status %r, wanted 130" % rc
    s = c.summary()
    if "finished" in s:
        return "an interrupted run is marked finished"
    if c.result("generic/010", "rust") is not None:
        return "the test cut off by Ctrl-C was blamed: %r" % c.result("generic/010", "rust")
    if not any(b.get("interrupted") for b in s["boots"]):
        return "no boot marked interrupted"
    done = {(e, t) for t, per in s["results"].items() for e in per.get("dax", {})}
    if ("rust", "generic/001") not in done:
        return "a test finished before the Ctrl-C was not kept"
    if len(done) == 2 * len(ALL):
        return "the run went on after Ctrl-C"
    one_engine = {t for e, t in done} - {t for t in ALL if {("rust", t), ("c", t)} <= done}
    if not one_engine:
        return "the plan left no test reached by one engine only"
    if "Differences between engines (0)" not in c.report():
        return "a test only one engine reached counts as a difference"
    # A resumed run on another build is refused; on the same build it runs only what is left.
    c.build = "build2"
    rc = c.run(FakeGuest(), resume=True)
    if rc != "exit 2" or "the last run differs in build" not in c.out.getvalue():
        return "resume on another build: %r" % rc
    c.build = "build1"
    g2 = FakeGuest()
    rc = c.run(g2, resume=True)
    if rc != 0:
        return "resumed run: status %r" % rc
    again = {k for k in g2.ran} & done
    if again:
        return "the resumed run repeated finished tests: %r" % sorted(again)
    if g2.ran.get(("rust", "generic/010")) != 1:
        return "the test cut off did not run again"
    s = c.summary()
    if "finished" not in s or any(c.result(t, e) is None for t in ALL for e in ("rust", "c")):
        return "the resumed run is incomplete"
    return None


def killed_in_boot(c, at="generic/001", **kw):
    """A fresh run whose runner dies during Rust's boot that reaches `at` (the fake guest
    raises there, before it has written anything): the boot's directory has the stamp the
    runner wrote, and the summary no record of the boot.  Returns the boot's label."""
    g = FakeGuest({"rust": {at: "raise"}})
    rc = c.run(g, jobs=1, per_boot=2, **kw)
    if rc != "exit 2":
        raise AssertionError("the killed run: status %r" % (rc,))
    return c.r.boot_label("rust", "dax", sum(1 for e, _ in g.boots if e == "rust"))


def leave_in_boot(c, label, finished, console, stats=None, name_console=True):
    """What the killed runner's guest left in the boot's directory: check's result.xml of the
    `finished` tests, qemu/run's output naming the console log, the console (`console`: its
    lines), daxcow's counters as the guest copies them."""
    d = c.r.boot_dir(label)
    os.makedirs(os.path.join(d, "dax"), exist_ok=True)
    with open(os.path.join(d, "dax", "result.xml"), "w") as f:
        # check's nameless case (written when the guest stops between tests) is no result.
        f.write("<testsuite>\n" + "".join(
            '  <testcase classname="xfstests.dax" name="%s" time="3"/>\n' % t
            for t in finished) + '  <testcase classname="xfstests.dax" name="" time="1"/>\n'
            "</testsuite>\n")
    path = os.path.join(d, "fake.console.log")
    with open(path, "w") as f:
        f.write("".join("[    2.000000] %s\n" % l for l in console))
    with open(os.path.join(d, "boot.log"), "w") as f:
        if name_console:
            f.write("qemu/run: guest console in (%s)\n" % path)
    if stats:
        with open(os.path.join(d, "daxcow-stats"), "w") as f:
            f.write("".join("%s %d\n" % kv for kv in stats.items()))


RUN = "run fstests %s at 2026-11-26 07:00:00"


def case_killed_runner_boot_is_salvaged(c):
    label = killed_in_boot(c)
    # generic/001 finished, with an XFS error dump (no WARNING line: qemu/run's pattern, which
    # a finished boot is judged by, still calls it a report); generic/010 was running.
    leave_in_boot(c, label, ["generic/001"],
                  [RUN % "generic/001", "XFS (pmem1): Internal error xfs_planted at line 1",
                   "Call Trace:", RUN % "generic/010"],
                  stats={"cow_write": 5, "cow_fault_pmd": 3})
    g2 = FakeGuest()
    rc = c.run(g2, resume=True, jobs=1, per_boot=2)
    if rc != 1:
        return "resumed run: status %r, wanted 1 (the killed boot's report fails a test)" % rc
    if ("rust", "generic/001") in g2.ran:
        return "the test the killed boot finished ran again"
    if ("rust", "generic/010") not in g2.ran:
        return "the test running at the kill did not run again"
    got = c.result("generic/001", "rust")
    if got.get("class") != "report" or "Call Trace" not in got.get("reason", ""):
        return "the killed boot's report was not blamed on generic/001: %r" % got
    boots = [b for b in c.summary()["boots"] if b["label"] == label]
    if len(boots) != 1 or not boots[0].get("salvaged") or boots[0]["finished"] != 1 or \
            boots[0].get("daxcow_stats", {}).get("cow_fault_pmd") != 3:
        return "the killed boot's record: %r" % boots
    if "| %s | 1 | 1 | - (salvaged)" % label not in c.report():
        return "the report does not show the salvaged boot"
    if any(c.result(t, e) is None for t in ALL for e in ("rust", "c")):
        return "the resumed run is incomplete"
    return None


def case_killed_in_the_first_boot_is_salvaged(c):
    # Both engines' runners die in their first boot, before any boot is recorded (a runner
    # killed during a debug run's first boot of two hours): the run is on record anyway, and
    # RESUME=1 takes over what the boot finished instead of starting a new run.
    # The boot lasts long enough for the summary's wall time to be saved during it.
    c.r.WALL_TIME_SAVE = 0.1
    first = ALL[0]
    g = FakeGuest({"rust": {first: "raise"}, "c": {first: "raise"}}, boot_seconds=1.5)
    rc = c.run(g, jobs=1, per_boot=2)
    if rc != "exit 2":
        return "the killed run: status %r" % (rc,)
    try:
        s = c.summary()
    except OSError:
        return "a run killed in its first boot left no summary to resume"
    if s["boots"] or "run_id" not in s:
        return "the summary of a run killed in its first boot: %r" % s
    if s["seconds"] < 1:
        return "the wall time of a boot the runner was killed in is lost: %r s" % s["seconds"]
    label = c.r.boot_label("rust", "dax", 1)
    leave_in_boot(c, label, [first], [RUN % first, RUN % ALL[1]])
    g2 = FakeGuest()
    rc = c.run(g2, resume=True, jobs=1, per_boot=2)
    if rc != 0:
        return "resumed run: status %r" % rc
    if ("rust", first) in g2.ran:
        return "the test the killed first boot finished ran again"
    if c.summary()["run_id"] != s["run_id"]:
        return "the resumed run is a new run"
    if any(c.result(t, e) is None for t in ALL for e in ("rust", "c")):
        return "the resumed run is incomplete"
    return None


def case_killed_runner_panic_is_classed(c):
    label = killed_in_boot(c)
    leave_in_boot(c, label, ["generic/001"],
                  [RUN % "generic/001", RUN % "generic/010",
                   "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                   "Kernel panic - not syncing: Fatal exception"])
    g2 = FakeGuest()
    c.run(g2, resume=True, jobs=1, per_boot=2)
    got = c.result("generic/010", "rust")
    if got.get("class") != "panic" or ("rust", "generic/010") in g2.ran:
        return "the panic in the killed boot's running test: %r, ran again: %r" % (
            got, ("rust", "generic/010") in g2.ran)
    if c.result("generic/001", "rust").get("status") != "pass":
        return "generic/001, finished before the panic: %r" % c.result("generic/001", "rust")
    return None


def case_rerun_is_not_salvaged(c):
    label = killed_in_boot(c)
    leave_in_boot(c, label, ["generic/001"], [RUN % "generic/001", RUN % "generic/010"])
    g2 = FakeGuest()
    rc = c.run(g2, resume=True, jobs=1, per_boot=2, rerun="generic/001")
    if rc != 0 or ("rust", "generic/001") not in g2.ran:
        return "--rerun generic/001 after a killed boot: status %r, ran %r" % (rc, sorted(g2.ran))
    return None


def case_rerun_under_the_other_engine_is_salvaged(c):
    # --rerun generic/001@c: the killed Rust boot's generic/001 is taken over.
    label = killed_in_boot(c)
    leave_in_boot(c, label, ["generic/001"], [RUN % "generic/001", RUN % "generic/010"])
    g2 = FakeGuest()
    rc = c.run(g2, resume=True, jobs=1, per_boot=2, rerun="generic/001@c")
    if rc != 0 or ("rust", "generic/001") in g2.ran or ("c", "generic/001") not in g2.ran:
        return "--rerun generic/001@c after a killed Rust boot: status %r, ran %r" % (
            rc, sorted(g2.ran))
    return None


def case_rerun_report_in_a_killed_boot_is_its_own(c):
    # The killed boot ran generic/001, which --rerun names, and a WARNING came in it: its result
    # is not taken, but the report fails generic/001 itself, not the next test.
    label = killed_in_boot(c)
    leave_in_boot(c, label, ["generic/001", "generic/010"],
                  [RUN % "generic/001", "WARNING: fs/dax.c:1 at planted+0x1/0x2",
                   RUN % "generic/010"])
    c.run(FakeGuest(), resume=True, jobs=1, per_boot=2, rerun="generic/001")
    got = c.result("generic/001", "rust")
    if got.get("class") != "report" or "died" in got.get("reason", "") or \
            c.result("generic/010", "rust").get("status") != "pass" or \
            any(b.get("lost") for b in c.summary()["boots"] if b["label"] == label):
        return "the report of a rerun test in a killed boot: generic/001 %r, generic/010 %r" % (
            got, c.result("generic/010", "rust"))
    return None


def case_another_runs_boot_is_not_salvaged(c):
    # Run A is killed in Rust's second boot; run B, started afresh, is stopped by Ctrl-C in
    # Rust's first, so the next Rust boot of B is the directory A left.
    label = killed_in_boot(c)
    leave_in_boot(c, label, ["generic/001"], [RUN % "generic/001", RUN % "generic/010"])
    g = FakeGuest({"rust": {"xfs/101": ["sigint"]}})
    if c.run(g, jobs=1, per_boot=2) != 130:
        return "run B was not interrupted"
    if sum(1 for b in c.summary()["boots"] if b["engine"] == "rust") != 1:
        return "run B's Rust boots: %r" % [b["label"] for b in c.summary()["boots"]]
    g2 = FakeGuest()
    rc = c.run(g2, resume=True, jobs=1, per_boot=2)
    if rc != 0 or ("rust", "generic/001") not in g2.ran:
        return "run A's results were taken over by run B: status %r, ran %r" % (rc, sorted(g2.ran))
    if any(b.get("salvaged") for b in c.summary()["boots"]):
        return "a boot of another run is recorded as salvaged"
    return None


def case_live_guest_or_no_console_is_not_salvaged(c):
    label = killed_in_boot(c)
    leave_in_boot(c, label, ["generic/001"], [RUN % "generic/001"], name_console=False)
    # The killed runner's guest, still running (a process that calls itself qemu/run).
    guest = subprocess.Popen(["bash", "-c", "sleep 60; true", "qemu/run"])
    try:
        for _ in range(100):   # until the child has exec'd bash, which names it
            with open("/proc/%d/cmdline" % guest.pid, "rb") as f:
                if b"qemu/run" in f.read():
                    break
            time.sleep(0.05)
        with open(os.path.join(c.r.boot_dir(label), c.r.GUEST_PID), "w") as f:
            f.write("%d\n" % guest.pid)
        rc = c.run(FakeGuest(), resume=True, jobs=1, per_boot=2)
        if rc != "exit 2" or "is still running" not in c.out.getvalue():
            return "resume beside the killed run's live guest: status %r" % rc
    finally:
        guest.kill()
        guest.wait()
    # Gone now; but qemu/run never named the console, so nothing can be checked or taken.
    g2 = FakeGuest()
    rc = c.run(g2, resume=True, jobs=1, per_boot=2)
    if rc != 0 or ("rust", "generic/001") not in g2.ran:
        return "a boot without a console was taken over: status %r, ran %r" % (rc, sorted(g2.ran))
    return None


def case_resume_on_a_fresh_clone(c):
    """build/ is gone (a fresh clone, or a new machine): --resume goes on from the summary
    committed beside the report, and repeats nothing it holds."""
    g = FakeGuest({"c": {"generic/011": ["sigint"]}}, boot_seconds=0.05)
    rc = c.run(g, jobs=1, per_boot=2)
    if rc != 130:
        return "interrupted run: status %r, wanted 130" % rc
    summary, doc, build = c.shipped
    if os.path.dirname(summary) != os.path.dirname(doc) or summary.startswith(build):
        return "the runner keeps its summary at %s, not beside the committed report" % summary
    done = {(e, t) for t, per in c.summary()["results"].items() for e in per.get("dax", {})}
    shutil.rmtree(c.r.BUILD, ignore_errors=True)
    g2 = FakeGuest()
    rc = c.run(g2, resume=True)
    if rc != 0:
        return "resumed run: status %r" % rc
    if "resuming" not in c.out.getvalue():
        return "the runner did not resume"
    again = sorted(set(g2.ran) & done)
    if again:
        return "the resumed run repeated finished tests: %r" % again
    if any(c.result(t, e) is None for t in ALL for e in ("rust", "c")):
        return "the resumed run is incomplete"
    return None


def case_runner_error_stops_both_engines(c):
    g = FakeGuest({"rust": {"generic/002": "raise"}}, boot_seconds=0.5)
    rc = c.run(g, per_boot=1)
    if rc != "exit 2" or "a runner thread failed" not in c.out.getvalue():
        return "status %r, output %r" % (rc, c.out.getvalue()[-300:])
    c_boots = sum(1 for e, _ in g.boots if e == "c")
    if c_boots > 2:
        return "the other engine went on for %d boots after the error" % c_boots
    return None


def case_rerun_of_one_section(c):
    # Two sections; generic/011 runs again in dax only, and says why in the report.
    c.run(FakeGuest(), sections="dax dax_pmd")
    g = FakeGuest()
    rc = c.run(g, resume=True, sections="dax dax_pmd", rerun="dax:generic/011",
               test_timeout=1800)
    if rc != 0 or sorted(g.ran) != [("c", "generic/011"), ("rust", "generic/011")] or \
            [b["section"] for b in c.summary()["boots"][-2:]] != ["dax", "dax"]:
        return "a rerun of one section: status %r, ran %r, boots %r" % (
            rc, sorted(g.ran), [b["label"] for b in c.summary()["boots"][-2:]])
    # And one engine only.
    g = FakeGuest()
    rc = c.run(g, resume=True, sections="dax dax_pmd", rerun="dax_pmd:generic/012@c")
    if rc != 0 or sorted(g.ran) != [("c", "generic/012")]:
        return "a rerun under one engine: status %r, ran %r" % (rc, sorted(g.ran))
    for bad in ("generic/012@", ":generic/012"):
        if c.run(FakeGuest(), resume=True, sections="dax dax_pmd", rerun=bad) != "exit 2":
            return "--rerun %s was taken" % bad
    rc = c.run(FakeGuest(), resume=True, sections="dax dax_pmd", rerun="generic/012@go")
    if rc != "exit 2" or "engine go not among the run's engines" not in c.out.getvalue():
        return "a rerun under an engine the run has not: %r" % rc
    rc = c.run(FakeGuest(), resume=True, sections="dax dax_pmd", rerun="dax_rt:generic/011")
    if rc != "exit 2" or "section dax_rt not among the run's sections" not in c.out.getvalue():
        return "a rerun in a section the run has not: %r" % rc
    return None


def case_rerun_replaces_results(c):
    c.expect("dax", "rust", ["generic/011 fail:timeout planted: outruns the watchdog"])
    c.expect("dax", "c", ["generic/011 fail:timeout planted: outruns the watchdog"])
    rc = c.run(FakeGuest({"rust": {"generic/011": "hang"}, "c": {"generic/011": "hang"}}))
    if rc != 0 or c.result("generic/011", "rust")["status"] != "fail":
        return "first run: status %r, generic/011 %r" % (rc, c.result("generic/011", "rust"))
    rc = c.run(FakeGuest(), rerun="generic/011")
    if rc != "exit 2" or "--rerun needs --resume" not in c.out.getvalue():
        return "--rerun without --resume: %r" % rc
    rc = c.run(FakeGuest(), resume=True, rerun="generic/999")
    if rc != "exit 2" or "generic/999 not among the selected tests" not in c.out.getvalue():
        return "--rerun of a test not selected: %r" % rc
    g = FakeGuest()
    rc = c.run(g, resume=True, rerun="generic/011", test_timeout=3600,
               rerun_why="planted: a longer watchdog")
    if rc != 0 or sorted(g.ran) != [("c", "generic/011"), ("rust", "generic/011")]:
        return "rerun: status %r, ran %r" % (rc, sorted(g.ran))
    if any(c.result("generic/011", e)["status"] != "pass" for e in ("rust", "c")):
        return "the rerun's results did not replace the first ones"
    if "(`--rerun`, planted: a longer watchdog) with a 3600 s watchdog" not in c.report() or \
            "finished" not in c.summary():
        return "the report does not say what was rerun, or the run is not finished"
    return None


def case_panic_in_a_test_listed_as_timeout_fails(c):
    # generic/011 is known to outrun the watchdog under both engines; under Rust it now
    # panics instead, which the watchdog's listing must not hide.
    c.expect("dax", "rust", ["generic/011 fail:timeout planted: outruns the watchdog"])
    c.expect("dax", "c", ["generic/011 fail:timeout planted: outruns the watchdog"])
    rc = c.run(FakeGuest({"rust": {"generic/011": "panic"}, "c": {"generic/011": "hang"}}))
    if rc != 1:
        return "status %r, wanted 1 (a panic in a test listed as a timeout)" % rc
    got = c.result("generic/011", "rust")
    if got.get("class") != "panic" or "Kernel panic" not in " ".join(got.get("kernel_log", [])) \
            and "BUG:" not in " ".join(got.get("kernel_log", [])):
        return "rust's generic/011: %r" % got
    if c.result("generic/011", "c").get("class") != "timeout":
        return "c's generic/011: %r" % c.result("generic/011", "c")
    if "listed as `fail:timeout`, ended as `panic`" not in c.report():
        return "the report does not say the listed timeout ended as a panic"
    return None


def case_kernel_report_fails_the_running_test(c):
    rc = c.run(FakeGuest({"rust": {"generic/010": "report"}}), per_boot=7)
    if rc != 1:
        return "status %r, wanted 1 (a kernel WARNING during a test)" % rc
    got = c.result("generic/010", "rust")
    if got.get("status") != "fail" or got.get("class") != "report" or \
            "WARNING: fs/dax.c" not in got.get("reason", ""):
        return "generic/010 under rust: %r" % got
    others = [t for t in ALL if t != "generic/010" and c.result(t, "rust")["status"] != "pass"]
    if others:
        return "the report was blamed on other tests too: %r" % others
    # A dump qemu/run calls a report (no WARNING or BUG line) is found in the test it is in.
    c.run(FakeGuest({"c": {"generic/011": "trace"}}), per_boot=7)
    got = c.result("generic/011", "c")
    if got.get("class") != "report" or "Call Trace" not in got.get("reason", "") or \
            c.result("generic/002", "c")["status"] != "pass":
        return "a Call Trace-only report under c: generic/011 %r, generic/002 %r" % (
            got, c.result("generic/002", "c"))
    return None


def case_not_run_under_rust_only_fails(c):
    c.expect("dax", "rust", ["generic/012 notrun:needs:planted planted, listed"])
    rc = c.run(FakeGuest({"rust": {"generic/012": "notrun"}}))
    if rc != 1:
        return "status %r, wanted 1 (passes under C, not run under Rust)" % rc
    if "| generic/012 | notrun | pass |" not in c.report():
        return "the difference is not in the report"
    # And in the table at the top: one test daxcow did worse on, none failing unlisted.
    if "| `dax` | 7 of 7, 7 of 7 | 1 | 0 | 0 / 0 | " not in c.report():
        return "the report's table at a glance does not count the difference"
    return None


def case_classes_of_lost_tests(c):
    g = FakeGuest({"rust": {"generic/001": "die", "generic/010": "hang"},
                   "c": {"generic/002": "panic", "generic/011": "stuck"}})
    c.r.LONG_TESTS = ("generic/010",)
    # The watchdog's own line says 900 s, whatever this run's --test-timeout.
    c.run(g, per_boot=7, test_timeout=1000)
    if "| generic/010 | fail (timeout): hung: still running after 900s (watchdog) | pass in 1 s |" \
            not in c.report():
        return "the long tests' table does not show the watchdog's verdict"
    if "| 0 of 1 | 0 |" not in c.report():
        return "the table at a glance counts a loop-heavy test the watchdog cut short"
    if "- Per-test watchdog: 1000 s at the run's last start" not in c.report():
        return "the report does not give the run's watchdog"
    got = {(t, e): (c.result(t, e) or {}).get("class")
           for t, e in (("generic/001", "rust"), ("generic/010", "rust"), ("generic/002", "c"),
                        ("generic/011", "c"))}
    want = {("generic/001", "rust"): "died", ("generic/010", "rust"): "timeout",
            ("generic/002", "c"): "panic", ("generic/011", "c"): "hang"}
    return None if got == want else "classes %r, wanted %r" % (got, want)


def case_expected_draft(c):
    # generic/010 is listed as an output failure and still fails; generic/011 is listed as a
    # not-run but now passes; generic/012 is not run, not listed here, but listed in the
    # "like" section's file; xfs/100 fails and is listed nowhere.
    c.expect("dax", "rust", ["# header kept", "generic/010 fail:output known, listed",
                             "generic/011 notrun:needs:planted no longer true",
                             "xfs/999 notrun:needs:planted not selected, kept"])
    c.expect("dax_like", "rust", ["generic/012 notrun:needs:planted listed in the like section"])
    rc = c.run(FakeGuest({"rust": {"generic/010": "fail", "generic/012": "notrun",
                                   "xfs/100": "fail"},
                          "c": {"generic/010": "fail", "generic/012": "notrun"}}))
    if rc != 1:
        return "status %r, wanted 1 (xfs/100 fails, unlisted)" % rc
    out, err = c.draft("dax", "rust", like="dax_like")
    want = ["# header kept", "generic/010 fail:output known, listed",
            "generic/012 notrun:needs:planted listed in the like section",
            "xfs/100 fail:output FIXME planted: output mismatch (see build/fstests/xfs/100.out.bad)",
            "xfs/999 notrun:needs:planted not selected, kept"]
    if out != want:
        return "draft %r, wanted %r" % (out, want)
    if "1 with FIXME; kept without a result: xfs/999; left out, now passing: generic/011" \
            not in err:
        return "the draft's note: %r" % err
    # Taken as is, the draft is refused: its FIXME must be completed first.
    c.expect("dax", "rust", out)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            c.r.load_expected("dax", "rust")
        return "load_expected took a line with FIXME"
    except SystemExit:
        pass
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            rc = c.r.cmd_expected_draft(argparse.Namespace(section="nosuch", engine="rust",
                                                           like="", debug=False))
        return "a draft for a section the run does not have: %r" % rc
    except SystemExit:
        return None



def case_debug_overlay(c):
    # generic/010 fails under both engines on every kernel (listed in the base files);
    # generic/011 outruns the watchdog on the debug kernel only, which ENGINE.debug says;
    # generic/012 is not run on either, for another reason on the debug kernel.
    committed = (c.r.SUMMARY, c.r.DOC)
    for e in ("rust", "c"):
        c.expect("dax", e, ["generic/010 fail:output planted: fails on every kernel",
                            "generic/012 notrun:needs:planted-base planted: the base's reason"])

    def guest():
        return FakeGuest({e: {"generic/010": "fail", "generic/011": "hang",
                              "generic/012": "notrun"} for e in ("rust", "c")})
    rc = c.run(guest(), groups="dedupe clone", profile="debug")
    if rc != 1 or "`generic/011` (timeout): hung: still running after 900s (watchdog). " \
            "**NOT EXPECTED**" not in c.report():
        return "the debug run without an overlay: status %r, wanted 1 and generic/011 " \
            "reported as not expected" % rc
    for e in ("rust", "c"):
        c.expect("dax", e + ".debug", [
            "# header kept", "generic/010 fail:output planted: said by the base file already",
            "generic/011 fail:timeout planted: outruns the debug kernel's watchdog",
            "generic/012 notrun:config:CONFIG_PLANTED planted: the debug kernel lacks it",
            "xfs/999 notrun:needs:planted not selected, kept"])
    with contextlib.redirect_stdout(io.StringIO()):
        rc = c.r.write_report(c.summary())
    if rc != 0 or "`dax/rust.debug`, `dax/c.debug` over the files" not in c.report():
        return "the debug report with the overlays: status %r, wanted 0, and the header " \
            "naming them" % rc
    if "by reason class (`xfstests-config/expected/`): `config:CONFIG_PLANTED` 1" \
            not in c.report():
        return "the debug report does not count generic/012's not-run by the overlay's class"
    if "| 1 / 0 | " not in c.report():
        return "the table at a glance does not count generic/012, listed under both engines " \
            "as not run for a kernel option, once"
    out, err = c.draft("dax", "rust", debug=True)
    want = ["# header kept",
            "generic/011 fail:timeout planted: outruns the debug kernel's watchdog",
            "generic/012 notrun:config:CONFIG_PLANTED planted: the debug kernel lacks it",
            "xfs/999 notrun:needs:planted not selected, kept"]
    if out != want:
        return "overlay draft %r, wanted %r" % (out, want)
    if "dax/rust.debug: 3 entries" not in err or \
            "left out, now passing or as rust has it: generic/010" not in err:
        return "the overlay draft's note: %r" % err
    # The committed run (another profile) does not read the debug overlays.
    c.r.SUMMARY, c.r.DOC = committed
    rc = c.run(guest())
    if rc != 1 or "`needs:planted-base` 1" not in c.report():
        return "the committed run took the debug overlay: status %r, wanted 1" % rc
    return None


def case_not_run_reasons_are_compared(c):
    # generic/012 is not run, for the reason its entries were written for, in the committed
    # run's section dax; for another in dax_pmd, under C, and on the debug kernel.  dax's
    # entry for generic/010 is stale: it passes there.
    for e in ("rust", "c"):
        c.expect("dax", e, ["generic/010 notrun:needs:planted planted: stale, it passes",
                            "generic/012 notrun:needs:planted planted: the reason of dax"])
    rc = c.run(FakeGuest({"rust": {"generic/012": "notrun"},
                          "c": {"generic/012": "notrun"},
                          "rust@dax_pmd": {"generic/010": "notrun", "generic/012": "notrun-other"},
                          "c@dax_pmd": {"generic/010": "notrun", "generic/012": "notrun-other"}}),
               sections="dax dax_pmd")
    if rc != 0:
        return "the committed run: status %r" % rc
    out, err = c.draft("dax_pmd", "rust", like="dax")
    want = ["generic/010 notrun:needs:FIXME FIXME planted: not run",
            "generic/012 notrun:needs:FIXME FIXME planted: not run, another way"]
    if out != want:
        return "--like took dax's entry for another not-run reason, or a stale one: %r" \
            % (out,)
    committed = (c.r.SUMMARY, c.r.DOC)
    # Under C only, generic/011 is not run: the report lists it, and that expected/ lacks it.
    rc = c.run(FakeGuest({"rust": {"generic/012": "notrun-other"},
                          "c": {"generic/011": "notrun", "generic/012": "notrun"}}),
               groups="dedupe clone", profile="debug")
    c.r.SUMMARY, c.r.DOC = committed
    debug_report = c.report(c.r.DEBUG_DOC)
    for want in ("- `generic/012` under c: planted: not run\n",
                 "- `generic/011` under c: planted: not run (rust: pass)\n",
                 "Not run under c and not yet in `expected/dax/c`: generic/011\n"):
        if want not in debug_report:
            return "the debug report lacks %r" % want
    out, err = c.draft("dax", "rust", debug=True)
    want = ["generic/012 notrun:needs:FIXME FIXME planted: not run, another way"]
    if out != want:
        return "the debug draft took the base entry for another not-run reason: %r" \
            % (out,)
    out, err = c.draft("dax", "c", debug=True)
    if out != ["generic/011 notrun:needs:FIXME FIXME planted: not run"]:
        return "the debug draft under C (generic/012 as the base has it, generic/011 not " \
            "listed): %r" % (out,)
    return None


FAKE_QEMU_RUN = r"""#!/bin/bash
# What qemu/run and the guest leave for the runner: qemu/run's line naming the console, check's
# check.out and result.xml (rewritten as each test finishes), the kernel release and daxcow's
# counters.  The test named in $FAKE_SLOW takes 2 s.
while [ "$1" != "--" ]; do shift; done
shift 2
results=$2 section=$3
shift 4
console=$results/fake.console.log
echo "qemu/run: guest console in ($console)" >&2
echo 7.3.4 > "$results/kernel-release"
mkdir -p "$results/$section"
cases=
for t in "$@"; do
	echo "[    2.000000] run fstests $t at 2026-11-26 07:00:00" >> "$console"
	echo "$t" >> "$results/check.out"
	[ "$t" = "${FAKE_SLOW:-}" ] && sleep 2
	cases+="<testcase classname=\"xfstests.$section\" name=\"$t\" time=\"1\"/>"
	# With check's nameless case, which is no result.
	echo "<testsuite>$cases<testcase name=\"\" time=\"1\"/></testsuite>" > "$results/$section/result.xml"
	sleep 0.3
done
printf 'cow_write 4\ncow_fault_pmd 2\n' > "$results/daxcow-stats"
"""


def case_boot_progress_and_records(c):
    """The real run_boot over a script of a guest: a line per finished test, one while a slow
    test runs, the guest's pid kept while it runs, and the boot's record."""
    r = c.r
    fake = os.path.join(c.work, "fake-qemu-run")
    with open(fake, "w") as f:
        f.write(FAKE_QEMU_RUN)
    os.chmod(fake, 0o755)
    r.QEMU_RUN, r.HEARTBEAT, r.POLL = fake, 1, 0.2
    os.environ["FAKE_SLOW"] = "generic/010"
    args = argparse.Namespace(boot_timeout=60, test_timeout=30, profile="default",
                              pmem_mib=4096, mem_mib=3072)
    label = r.boot_label("rust", "dax", 1)
    r.start_boot_dir(label, {"run_id": "x"})
    r.SECTION_PROGRESS[("rust", "dax")] = (5, 9)   # 5 of the section's 9 tests done before
    try:
        with contextlib.redirect_stdout(c.out):
            got, running, boot = r.run_boot(args, "rust", "dax", ["generic/001", "generic/010"],
                                            1, c.tree)
    finally:
        del os.environ["FAKE_SLOW"]
    out = c.out.getvalue()
    for want in ("fstests: rust dax generic/001: pass in 1s (boot 1: 1/2; dax 6/9)",
                 "fstests: rust dax generic/010: running for ",
                 "(boot 1: 1/2; dax 6/9)",
                 "fstests: rust dax generic/010: pass in 1s (boot 1: 2/2; dax 7/9)"):
        if want not in out:
            return "no line %r in %r" % (want, out)
    if sorted(got) != ["generic/001", "generic/010"] or running is not None:
        return "results %r, running %r" % (sorted(got), running)
    if boot.get("daxcow_stats") != {"cow_write": 4, "cow_fault_pmd": 2} or \
            boot.get("kernel") != "7.3.4" or boot["qemu_run_status"] != 0 or \
            not (boot.get("console") or "").endswith("fake.console.log") or \
            boot["console"].startswith("/"):
        return "boot record %r" % boot
    if os.path.exists(os.path.join(r.boot_dir(label), r.GUEST_PID)):
        return "the guest's pid file outlived the guest"
    return None


def runs_beside_the_committed_one(c, *selections):
    """Runs the committed selection, then each of `selections` (run() keyword arguments).
    Returns an error, or None and the (summary, report) paths each selection wrote; the
    committed run's paths are restored, and an error is returned if its report or summary
    changed."""
    rc = c.run(FakeGuest())
    if rc != 0:
        return "the committed run: status %r" % rc, None
    before = (c.report(), json.dumps(c.summary(), sort_keys=True))
    committed = (c.r.SUMMARY, c.r.DOC)
    wrote = []
    for kw in selections:
        rc = c.run(FakeGuest(), **kw)
        wrote.append((c.r.SUMMARY, c.r.DOC))
        c.r.SUMMARY, c.r.DOC = committed
        if rc != 0:
            return "the run of %r: status %r" % (kw, rc), None
    if (c.report(), json.dumps(c.summary(), sort_keys=True)) != before:
        return "another selection rewrote the committed report or summary", None
    return None, wrote


def case_spot_run_leaves_the_committed_report_alone(c):
    # Resuming the committed groups on another profile resumes no run (it would be a spot
    # run, and there is none): it stops, and names the committed run's profile.
    rc = c.run(FakeGuest(), resume=True, profile="other")
    if rc != "exit 2" or "no run to resume" not in c.out.getvalue() or \
            "(the committed run is PROFILE=default's)" not in c.out.getvalue():
        return "a resume of the committed groups on another profile: status %r" % rc
    # Named tests; then the committed groups on a kernel other than the committed run's.
    err, wrote = runs_beside_the_committed_one(c, {"tests": "generic/001 xfs/100"},
                                               {"profile": "pristine"})
    if err:
        return err
    for spot in wrote:
        if not all(os.path.exists(p) and p.startswith(c.r.BUILD) for p in spot):
            return "the spot run's report is not under build/: %r" % (spot,)
    return None


def case_debug_run_has_its_own_committed_report(c):
    err, wrote = runs_beside_the_committed_one(
        c, {"groups": "dedupe clone", "profile": "debug"},
        {"groups": "dax clone", "profile": "debug"})
    if err:
        return err
    debug, spot = wrote
    if debug != (c.r.DEBUG_SUMMARY, c.r.DEBUG_DOC):
        return "the debug run of the debug groups wrote %r, not its committed files" % (debug,)
    with open(c.r.DEBUG_SUMMARY) as f:
        got = json.load(f)
    if got["profile"] != "debug" or sorted(got["results"]) != ["generic/001", "generic/010",
                                                               "generic/011", "generic/012",
                                                               "xfs/100"]:
        return "the debug summary holds %r on %r" % (sorted(got["results"]), got["profile"])
    with open(c.r.DEBUG_DOC) as f:
        if "fstests-debug.json`" not in f.read():
            return "the debug report does not name its own summary"
    if not all(p.startswith(c.r.BUILD) for p in spot):
        return "a debug run of other groups was not a spot run: %r" % (spot,)
    for kind in ("debug", "spot"):
        if not os.path.isdir(os.path.join(c.r.BUILD_ROOT, kind, "results")):
            return "the %s run's boots did not work in a directory of their own" % kind
    return None


def case_rebuild_during_a_run_stops_it(c):
    kernel = os.path.join(c.r.ARTIFACTS, "linux", "out-default", "arch", "x86", "boot")
    module = os.path.join(c.r.ARTIFACTS, "module-default")
    os.makedirs(kernel)
    os.makedirs(module)
    for d, f in ((kernel, "bzImage"), (module, "daxcow.ko")):
        with open(os.path.join(d, f), "w") as out:
            out.write("built once\n")

    class Rebuilt(FakeGuest):
        def __call__(self, *a):
            # A `make module` while this boot runs.
            with open(os.path.join(module, "daxcow.ko"), "w") as out:
                out.write("built again\n")
            return super().__call__(*a)

    g = Rebuilt()
    rc = c.run(g, jobs=1, per_boot=2)
    if rc != "exit 2" or "was rebuilt during the run" not in c.out.getvalue():
        return "a module rebuilt under the run: status %r" % rc
    if len(g.boots) != 1:
        return "the run booted %d times after the rebuild" % len(g.boots)
    return None


def case_one_run_of_a_kind_at_once(c):

    os.makedirs(c.r.BUILD_ROOT, exist_ok=True)
    with open(os.path.join(c.r.BUILD_ROOT, "runner.lock"), "w") as held:
        held.write("4242\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        rc = c.run(FakeGuest())
        if rc != "exit 2" or "another run of this kind is working in" not in c.out.getvalue() \
                or "pid 4242" not in c.out.getvalue():
            return "a second committed run beside one holding the lock: status %r" % rc
        # A spot run works elsewhere and may run beside it.
        rc = c.run(FakeGuest(), tests="generic/001")
        if rc != 0:
            return "a spot run beside the committed one: status %r" % rc
    # The runner holds its lock while its guests run, with its pid in the file.
    seen = []

    class LockProbe(FakeGuest):
        def __call__(self, *a):
            with open(os.path.join(c.r.BUILD, "runner.lock")) as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(f, fcntl.LOCK_UN)
                    seen.append("free")
                except OSError:
                    seen.append(f.read().strip())
            return super().__call__(*a)

    rc = c.run(LockProbe())
    if rc != 0:
        return "the committed run once the lock was free: status %r" % rc
    if not seen or set(seen) != {str(os.getpid())}:
        return "the lock during the run's boots: %r" % seen
    return None


def case_realtime_section_runs_its_group(c):
    g = FakeGuest()
    rc = c.run(g, sections="dax dax_rt")
    if rc != 0:
        return "status %r" % rc
    rt = sorted(t for t, per in c.summary()["results"].items() if "dax_rt" in per)
    if rt != ["xfs/101"]:
        return "dax_rt ran %r, wanted only the realtime group's xfs/101" % rt
    if any(b["section"] == "dax_rt" and b["tests"] != 1 for b in c.summary()["boots"]):
        return "a dax_rt boot was given more than the realtime tests"
    if "| rust | 1 | 0 | 0 | 0 |" not in c.report().split("## Section `dax_rt`")[1]:
        return "the dax_rt section's counts (1 selected, none missing) are not in the report"
    return None


def add_project_test(c, name, groups, body="echo Silence is golden"):
    """A test of the project's own, tests/fstests/NAME, with its golden output."""
    path = os.path.join(c.r.PROJECT_TESTS, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#! /bin/bash\n. ./common/preamble\n_begin_fstest %s\n%s\n" % (groups, body))
    os.chmod(path, 0o755)
    with open(path + ".out", "w") as f:
        f.write("QA output created by %s\nSilence is golden\n" % os.path.basename(name))
    return path


def case_project_tests(c):
    r = c.r
    add_project_test(c, "generic/900-cow-race", "auto quick clone mmap")
    # Selected by its groups, numerically after the tree's own tests of the group.
    got = r.select_tests(c.tree, ["dax", "clone"], [])
    if got != ALL[:6] + ["generic/900-cow-race"] + ALL[6:]:
        return "selected %r" % got
    # Added to each engine's copy of the tree with its golden output and a group.list line,
    # never to the tree itself.
    dst = os.path.join(c.work, "copy")
    shutil.copytree(c.tree, dst)
    r.add_project_tests(dst)
    gdir = os.path.join(dst, "tests", "generic")
    if not (os.access(os.path.join(gdir, "900-cow-race"), os.X_OK)
            and os.path.exists(os.path.join(gdir, "900-cow-race.out"))):
        return "the test and its golden output are not in the copy"
    with open(os.path.join(gdir, "group.list")) as f:
        if f.read().splitlines()[-1] != "900-cow-race auto clone mmap quick":
            return "the copy's group.list does not list the test"
    if os.path.exists(os.path.join(c.tree, "tests", "generic", "900-cow-race")):
        return "the test was added to the user's tree"
    # It runs, under both engines, and its results carry its name.
    rc = c.run(FakeGuest())
    if rc != 0:
        return "status %r" % rc
    if any((c.result("generic/900-cow-race", e) or {}).get("status") != "pass"
           for e in ("rust", "c")):
        return "the project test has no result of its own"
    # Its files changed: a resumed run runs it again, and nothing else.
    add_project_test(c, "generic/900-cow-race", "auto quick clone mmap", body="true")
    g = FakeGuest()
    c.build = "build1"
    rc = c.run(g, resume=True)
    if rc != 0 or sorted(g.ran) != [("c", "generic/900-cow-race"), ("rust", "generic/900-cow-race")]:
        return "resumed after the test changed: status %r, ran %r" % (rc, sorted(g.ran))
    # A project test named like one of the tree's is refused.
    add_project_test(c, "generic/010", "clone")
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            r.select_tests(c.tree, ["clone"], [])
        return "a project test named like one of the tree's was accepted"
    except SystemExit:
        if "has the name of one in FSTESTS_DIR" not in err.getvalue():
            return "refused with %r" % err.getvalue()
    return None


def case_every_report_of_every_boot_fails_its_test(c):
    # Two tests of one boot with a report each: both fail, not only the first.
    c.run(FakeGuest({"rust": {"generic/001": "report", "generic/011": "trace"}}), per_boot=7)
    got = {t: (c.result(t, "rust") or {}).get("class") for t in ("generic/001", "generic/011")}
    if got != {"generic/001": "report", "generic/011": "report"} or \
            c.result("generic/010", "rust")["status"] != "pass":
        return "two reports in one boot: %r, generic/010 %r" % (got, c.result("generic/010", "rust"))
    # A boot cut short by Ctrl-C, which qemu/run never checks: a report in a test that
    # finished fails it, and one in the test cut off fails that test (not run again).
    c.run(FakeGuest({"rust": {"generic/001": "report", "generic/011": "report+sigint"}}),
          jobs=1, per_boot=7)
    got = {t: c.result(t, "rust") for t in ("generic/001", "generic/010", "generic/011")}
    if (got["generic/001"] or {}).get("class") != "report" or \
            (got["generic/011"] or {}).get("class") != "report" or \
            "then cut off by Ctrl-C" not in (got["generic/011"] or {}).get("reason", "") or \
            (got["generic/010"] or {}).get("status") != "pass":
        return "in an interrupted boot: %r" % got
    # The watchdog's dump is no report, but check can announce the next test before the
    # reboot: a report there is that test's.
    c.run(FakeGuest({"rust": {"generic/001": "late_hang", "generic/010": "report"}}), per_boot=7)
    if c.result("generic/010", "rust").get("class") != "report" or \
            c.result("generic/001", "rust").get("status") != "pass":
        return "after a watchdog line: generic/001 %r, generic/010 %r" % (
            c.result("generic/001", "rust"), c.result("generic/010", "rust"))
    # A boot whose guest died (qemu/run 125, no check of its own): the report in an earlier
    # test fails it; a report and then the watchdog is a report (its reason says both), the
    # watchdog's own dump of blocked tasks is not.
    c.run(FakeGuest({"rust": {"generic/001": "report", "generic/011": "die"},
                     "c": {"generic/001": "report+hang", "generic/012": "hang"}}), per_boot=7)
    r1, r11 = c.result("generic/001", "rust"), c.result("generic/011", "rust")
    c1, c12 = c.result("generic/001", "c"), c.result("generic/012", "c")
    if r1.get("class") != "report" or r11.get("class") != "died":
        return "before a death: generic/001 %r, generic/011 %r" % (r1, r11)
    if c1.get("class") != "report" or "then hung" not in c1.get("reason", "") or \
            c12.get("class") != "timeout":
        return "a report then the watchdog: %r; the watchdog alone: %r" % (c1, c12)
    return None


def case_report_signature(c):
    # generic/011 is known to leave one XFS error dump under both engines: listed with the
    # dump's signature, it is expected; a WARNING beside the dump is not.
    for e in ("rust", "c"):
        c.expect("dax", e, ["generic/011 fail:report:xfs_planted_cancel planted: an XFS error dump"])
    rc = c.run(FakeGuest({"rust": {"generic/011": "trace+trace"}, "c": {"generic/011": "trace"}}))
    got = c.result("generic/011", "rust")
    if rc != 0 or got.get("report_count") != 2 or len(got.get("reports", [])) != 1:
        return "the listed dump (twice under rust): status %r, %r" % (rc, got)
    rc = c.run(FakeGuest({"rust": {"generic/011": "trace+report"}, "c": {"generic/011": "trace"}}))
    if rc != 1 or "listed as `fail:report:xfs_planted_cancel`, but not every one of its " \
            "reports is a bare stack dump through `xfs_planted_cancel`" not in c.report():
        return "a WARNING beside the listed dump: status %r, wanted 1 and the reason" % rc
    # A KASAN report in the function the entry names is no known dump, though its headline
    # and its stack name the function.
    rc = c.run(FakeGuest({"rust": {"generic/011": "trace+kasan"}, "c": {"generic/011": "trace"}}))
    if rc != 1:
        return "a KASAN report in the listed function: status %r, wanted 1" % rc
    # An unreliable ("? ") frame is no frame of the dump.
    for e in ("rust", "c"):
        c.expect("dax", e, ["generic/011 fail:report:xfs_planted_unreliable planted"])
    rc = c.run(FakeGuest({"rust": {"generic/011": "trace"}, "c": {"generic/011": "trace"}}))
    if rc != 1:
        return "a dump listed by one of its unreliable frames: status %r, wanted 1" % rc
    c.expect("dax", "c", ["generic/011 fail:panic:xfs_planted_cancel a panic has no signature"])
    rc = c.run(FakeGuest())
    if rc != "exit 2" or "report:FUNCTION for bare stack dumps" not in c.out.getvalue():
        return "a signature on another class: %r" % rc
    return None


def case_resume_rechecks_old_boots(c):
    # A run recorded by a runner that read no console of an interrupted boot: its summary
    # has the report's test as a pass and no boot marked console_checked.
    c.run(FakeGuest({"rust": {"generic/001": "report", "generic/010": "report+sigint"}}),
          jobs=1, per_boot=7)
    s = c.summary()
    # generic/001's own result, recorded before results named their boot: an output failure
    # (the recheck adds its report to it).
    first = next(b for b in s["boots"] if b["label"] == "rust-dax-001")
    s["results"]["generic/001"]["dax"]["rust"] = {"status": "fail", "class": "output",
                                                  "time": 42.0, "diff": ["mine"],
                                                  "reason": "own", "console": first["console"]}
    # generic/010, cut off with its report, then ran again in a later boot and failed there.
    s["results"]["generic/010"]["dax"]["rust"] = {"status": "fail", "class": "output",
                                                  "time": 5.0, "diff": ["later"],
                                                  "reason": "a later boot's failure",
                                                  "boot": "rust-dax-002"}
    for b in s["boots"]:
        b.pop("console_checked", None)
        b.pop("report", None)
        b.pop("reports_in", None)
    # And an interrupted boot whose console is gone.
    gone = {"label": "c-dax-009", "engine": "c", "section": "dax", "tests": 3, "finished": 2,
            "qemu_run_status": -2, "interrupted": True, "seconds": 1,
            "console": "build/logs/gone.console.log"}
    s["boots"].append(gone)
    # And a boot that reported before it announced any test (a guest that oopsed at boot).
    early = os.path.join(os.path.dirname(os.path.join(TOP, s["boots"][0]["console"])),
                         "early.console.log")
    with open(early, "w") as f:
        f.write("[    1.000000] WARNING: planted at boot+0x1/0x2\n")
    s["boots"].append(dict(gone, label="rust-dax-009", engine="rust", console=early))
    with open(c.r.SUMMARY, "w") as f:
        json.dump(s, f)
    # generic/010 is to run again under rust: the report the recheck finds in its first
    # attempt stays, and it does not run again.
    g = FakeGuest()
    c.run(g, resume=True, rerun="generic/010@rust")
    own = c.result("generic/001", "rust")
    if own.get("class") != "report" or own.get("diff") != ["mine"] or own.get("time") != 42 or \
            "recheck: rust-dax-001: generic/001 has a kernel report" not in c.out.getvalue():
        return "the recheck of the boot's own result: %r" % (own,)
    if ("rust", "generic/010") in g.ran or "generic/010 keeps the report of rust-dax-001" \
            not in c.out.getvalue():
        return "a test --rerun names lost the report the recheck found in it"
    later = c.result("generic/010", "rust")
    if later.get("class") != "report" or later.get("diff") or \
            "in boot rust-dax-001" not in later.get("reason", ""):
        return "the old boot's report merged into a later boot's result: %r" % later
    rep = c.report()
    if "boot rust-dax-009 has a kernel report before any test began" not in rep:
        return "the report does not fail a report no test can be blamed for"
    if "except those of 1 boots" not in rep or "%s | " % gone["label"] not in rep or \
            ", console not checked |" not in rep:
        return "the report does not name the boot whose console is gone"
    # The report before any test fails the run on its own.
    s = c.summary()
    for per in s["results"].values():
        for e in per["dax"]:
            per["dax"][e] = {"status": "pass", "time": 1.0}
    with contextlib.redirect_stdout(io.StringIO()):
        blamed_status = c.r.write_report(s)
        next(b for b in s["boots"] if b.get("unblamed_reports")).pop("unblamed_reports")
        clean_status = c.r.write_report(s)
    if (blamed_status, clean_status) != (1, 0):
        return "the report's status with and without a report no test is blamed for: %r" % (
            (blamed_status, clean_status),)
    # Which boots count as read: those recorded before the flag by the old rules only.
    ck = c.r.console_checked
    got = [ck({"salvaged": True}), ck({"salvaged": True, "report": "generic/001"}),
           ck({"salvaged": True, "console_checked": False}),
           ck({"qemu_run_status": 0, "console_checked": False}), ck({"qemu_run_status": -2})]
    if got != [True, False, False, True, False]:
        return "console_checked: %r" % got
    return None


def case_rerun_boots(c):
    # A boot recorded with its console unread and gone (c-dax-009), whose tests were
    # generic/001 and generic/002.
    c.run(FakeGuest(), jobs=1, per_boot=7)
    s = c.summary()
    s["boots"].append({"label": "c-dax-009", "engine": "c", "section": "dax", "tests": 3,
                       "finished": 2, "qemu_run_status": -2, "interrupted": True,
                       "seconds": 1, "console": "build/logs/gone.console.log"})
    with open(c.r.SUMMARY, "w") as f:
        json.dump(s, f)
    # Refused: a boot whose console was read; no --rerun; fewer tests of the boot's section
    # under its engine than it finished; an unknown label.
    for rerun, boots, why in (
            ("generic/001@c", "rust-dax-001", "rust-dax-001 has its console read"),
            ("", "c-dax-009", "give --rerun too"),
            ("generic/001@rust generic/002@rust", "c-dax-009",
             "finished 2 tests, and --rerun names 0 of section dax under c"),
            ("generic/001@c", "c-dax-009", "finished 2 tests, and --rerun names 1"),
            ("generic/001", "c-dax-099", "c-dax-099 is not a boot of this run")):
        rc = c.run(FakeGuest(), resume=True, rerun=rerun, rerun_boots=boots)
        if rc != "exit 2" or why not in c.out.getvalue():
            return "--rerun-boots %r with --rerun %r: status %r, no %r" % (boots, rerun, rc, why)
    rc = c.run(FakeGuest(), resume=True, rerun="generic/001@c generic/002@c",
               rerun_why="planted: consoles gone", rerun_boots="c-dax-009")
    rep = c.report()
    if rc != 0 or "| 1 (their tests run again: 1) |" not in rep or \
            "The tests of c-dax-009 have all been run again since" not in rep:
        return "the report after the rerun of the boot's tests: status %r" % rc
    # Another rerun naming the boot, not yet run to its end: not all of its tests ran again.
    s = c.summary()
    s["reruns"].append({"tests": ["generic/010@c", "generic/011@c"], "test_timeout": 900,
                        "boots": ["c-dax-009"]})
    del s["results"]["generic/011"]["dax"]["c"]
    with contextlib.redirect_stdout(io.StringIO()):
        c.r.write_report(s)
    if "| 1 (their tests run again: 0) |" not in c.report():
        return "a boot counted as run again with a rerun naming it unfinished"
    # A result still the boot's own: its tests have not all run again.
    s = c.summary()
    s["results"]["generic/002"]["dax"]["c"]["boot"] = "c-dax-009"
    with contextlib.redirect_stdout(io.StringIO()):
        c.r.write_report(s)
    if "| 1 (their tests run again: 0) |" not in c.report():
        return "a boot with a result of its own still counted as run again"
    return None


def case_makefile_defaults_per_profile(c):
    # What `make fstests` passes the runner on each profile: the committed runs' selections
    # by default, anything given on the command line over them.  (make only parses the
    # Makefile here: the goal is --eval's, no recipe of the Makefile's runs.)
    want = {("PROFILE=fstests",): "dax dedupe clone mmap|dax dax_pmd dax_rt|7200",
            ("PROFILE=debug",): "clone dedupe|dax|1200",
            ("PROFILE=default",): "dax dedupe clone mmap|dax|5400",
            ("PROFILE=fstests", "SECTIONS=dax", "TEST_TIMEOUT=60"): "dax dedupe clone mmap|dax|60"}
    for given, vars_ in want.items():
        out = subprocess.run(
            ["make", "-s", "--no-print-directory", "-C", TOP, *given, "--eval",
             "selftest-vars: ; @echo '$(GROUPS)|$(SECTIONS)|$(TEST_TIMEOUT)'", "selftest-vars"],
            capture_output=True, text=True,
            env={k: v for k, v in os.environ.items()
                 if k not in ("PROFILE", "GROUPS", "SECTIONS", "TEST_TIMEOUT", "MAKEFLAGS")})
        if out.stdout.strip() != vars_:
            return "make %s: %r, wanted %r (%s)" % (" ".join(given), out.stdout.strip(), vars_,
                                                     out.stderr.strip())
    return None


def case_console_reading(c):
    r = c.r
    console = os.path.join(c.work, "unit.console.log")
    dump = ["Call Trace:", " <TASK>", " dump_stack_lvl+0x33/0x70", " dump_stack+0x14/0x16",
            " ? planted_a+0x1/0x2", " ? planted_b+0x1/0x2", " ? planted_c+0x1/0x2",
            " xfs_error_report+0x3e/0x40", " xfs_trans_cancel+0x93/0x1d0", " </TASK>"]
    lines = [RUN % "generic/001",
             "daxcow fstests watchdog: generic/001 exceeded 900s",
             "sysrq: Show Blocked State", "task:xfs_io state:D stack:0 pid:812",
             # check announces the next test while the blocked tasks' dump still prints
             RUN % "generic/010", "Call Trace:", " <TASK>", " schedule+0x2d/0x90", " </TASK>",
             RUN % "generic/011", "INFO: task fsstress:99 blocked for more than 120 seconds.",
             "task:fsstress state:D stack:0 pid:99", "Call Trace:", " <TASK>",
             " schedule+0x2d/0x90", " </TASK>",
             RUN % "generic/012", "XFS (pmem1): Internal error xfs_trans_cancel at line 1",
             "CPU: 0 UID: 0 PID: 3309 Comm: fio"] + dump
    with open(console, "w") as f:
        f.write("".join("[    2.000000] %s\n" % l for l in lines))
    found = r.boot_reports({"console": console})
    if sorted(found) != ["generic/011", "generic/012"] or len(found["generic/011"]) != 1:
        return "reports found: %r (a blocked task's stack is no report, a hung task's " \
            "headline is one)" % found
    # The real generic/019 dump's shape, three unreliable frames deeper: still the known dump.
    if not r.known_dump(found["generic/012"][0], "xfs_trans_cancel") or \
            r.known_dump(found["generic/012"][0], "planted_a"):
        return "known_dump on a deep dump: %r" % found["generic/012"][0]
    # An empty console was read: no report, and not "no console".
    open(console, "w").close()
    if r.boot_reports({"console": console}) != {}:
        return "an empty console: %r" % r.boot_reports({"console": console})
    return None


CASES = [
    ("refuses a missing or unbuilt tree, also through make", case_refuses_trees),
    ("selects the groups' tests in group order", case_selects_groups_in_order),
    ("a clean run: every test once per engine, per-boot respected, counters summed",
     case_clean_run),
    ("a boot: a line per test and while one runs long, the guest's pid, counters, console",
     case_boot_progress_and_records),
    ("a Rust-only failure fails the run and is reported", case_rust_only_failure_fails_the_run),
    ("a failure under both engines needs an expected/ entry", case_failure_under_both),
    ("a dead or hung guest blames one test, the rest run again", case_dead_guest_blames_one_test),
    ("Ctrl-C keeps finished tests, blames none; --resume finishes",
     case_interrupt_then_resume),
    ("--resume on a fresh clone goes on from the committed record",
     case_resume_on_a_fresh_clone),
    ("--resume takes over what a killed runner's boot finished, with qemu/run's report check",
     case_killed_runner_boot_is_salvaged),
    ("... also when the kill came in the run's first boot (its wall time kept too)",
     case_killed_in_the_first_boot_is_salvaged),
    ("... a panic in the test the kill cut off is classed a panic",
     case_killed_runner_panic_is_classed),
    ("... not the tests --rerun names", case_rerun_is_not_salvaged),
    ("... a report in a test --rerun names fails that test, no other",
     case_rerun_report_in_a_killed_boot_is_its_own),
    ("... but a test --rerun names under the other engine",
     case_rerun_under_the_other_engine_is_salvaged),
    ("... not another run's boot", case_another_runs_boot_is_not_salvaged),
    ("... not while its guest lives, nor without its console",
     case_live_guest_or_no_console_is_not_salvaged),
    ("a failing runner thread stops the other engine", case_runner_error_stops_both_engines),
    ("--rerun runs named tests again and replaces their results", case_rerun_replaces_results),
    ("--rerun SECTION:TEST@ENGINE runs it again in that section, under that engine only",
     case_rerun_of_one_section),
    ("a panic inside a test listed as a timeout fails the run", case_panic_in_a_test_listed_as_timeout_fails),
    ("a kernel report fails the test that was running, no other", case_kernel_report_fails_the_running_test),
    ("every report in any boot fails its test: several in a boot, a boot cut short or dead",
     case_every_report_of_every_boot_fails_its_test),
    ("fail:report:FUNCTION accepts only bare stack dumps through FUNCTION", case_report_signature),
    ("--resume reads the consoles of boots recorded unchecked; a gone one is reported",
     case_resume_rechecks_old_boots),
    ("the Makefile's defaults: the committed runs' selections per profile",
     case_makefile_defaults_per_profile),
    ("--rerun-boots: the report says when the tests of boots with unread consoles ran again",
     case_rerun_boots),
    ("a console's reports: not a dump of blocked tasks, a known dump however deep",
     case_console_reading),
    ("passing under C and not run under Rust fails the run", case_not_run_under_rust_only_fails),
    ("a test without a result is classed: died, timeout, hang, panic (also in the long tests' "
     "table)",
     case_classes_of_lost_tests),
    ("a dax_rt section runs only the realtime group's tests", case_realtime_section_runs_its_group),
    ("the project's own tests: selected by group, added to the tree's copies only, run again "
     "when changed, refused under a name the tree has", case_project_tests),
    ("expected-draft: listed entries kept, the like section's used, FIXME for the rest",
     case_expected_draft),
    ("a debug-profile run reads ENGINE.debug over ENGINE; expected-draft --debug drafts it",
     case_debug_overlay),
    ("a not-run's fstests reason: another engine's is reported, a draft checks it against "
     "the one its entry was written for", case_not_run_reasons_are_compared),
    ("a spot run (TESTS=, another profile) reports under build/, the committed report untouched",
     case_spot_run_leaves_the_committed_report_alone),
    ("PROFILE=debug over clone and dedupe is a committed run of its own",
     case_debug_run_has_its_own_committed_report),
    ("one run of a kind at once (the committed, debug and spot runs each their own)",
     case_one_run_of_a_kind_at_once),
    ("a kernel or module rebuilt during a run stops it", case_rebuild_during_a_run_stops_it),
]


def main():
    failed = 0
    for name, fn in CASES:
        work = tempfile.mkdtemp(prefix="daxcow-fstests-selftest.")
        c = None
        try:
            c = Case(load_runner(), work)
            why = fn(c)
        except (Exception, SystemExit):
            why = "raised:\n" + traceback.format_exc()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if why is None:
            print("PASS: fstests runner: " + name)
        else:
            failed += 1
            print("FAIL: fstests runner: %s: %s" % (name, why))
            if c is not None:
                print("".join("  | " + l + "\n" for l in c.out.getvalue().splitlines()[-15:]),
                      end="")
    for d in CONSOLE_DIRS:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
