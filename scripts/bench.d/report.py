#!/usr/bin/env python3
"""Reads the raw outputs scripts/bench leaves in its work directory and prints the table.

    report.py half-rate RUN_DIR/single.wrk   -> half of (3)'s accepted events/s (the rate of (7))
    report.py report WORK_DIR ONLY           -> the table; exit 0 all PASS, 1 a target missed,
                                                2 a correctness check failed

Standard library only.
"""

import json
import os
import re
import statistics
import sys

TARGETS_NOTE = "targets are judged on the medians"


def wrk_result(path):
    try:
        text = open(path).read()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT "):])
            result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
            return result
    return None


def rate(result, status=None, count=None):
    if not result or result["window"] <= 0:
        return None
    n = count if count is not None else result["statuses"].get(status, 0)
    return n / result["window"]


def read_number(path):
    try:
        return float(open(path).read().strip())
    except (FileNotFoundError, ValueError):
        return None


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def half_rate(path):
    result = wrk_result(path)
    r = rate(result, 202)
    if not r:
        sys.exit("report.py: (3) produced no accepted events, so (7) has no rate")
    print(max(1, int(r / 2)))


class Run:
    """Figures and checks of one run, from its directory."""

    def __init__(self, directory, clk_tck, batch_size):
        self.dir = directory
        self.figures = {}
        self.checks = []  # (name, ok, detail)
        self.statuses_429 = 0
        self.clk_tck = clk_tck
        self.batch_size = batch_size
        self.load()

    def path(self, name):
        return os.path.join(self.dir, name)

    def check(self, name, ok, detail):
        self.checks.append((name, bool(ok), detail))

    def wrk_phase(self, name, expected_status):
        result = wrk_result(self.path(f"{name}.wrk"))
        if result is None:
            if os.path.exists(self.path(f"{name}.wrk")):
                self.check(f"{name}: load generator result", False, "wrk printed no result")
            return None
        self.statuses_429 += result["statuses"].get(429, 0)
        others = {s: n for s, n in result["statuses"].items() if s != expected_status}
        errors = {k: v for k, v in result["errors"].items() if v}
        self.check(f"{name}: every answer {expected_status}", not others,
                   f"{result['statuses'].get(expected_status, 0)} × {expected_status}"
                   + (f", others {others}" if others else ""))
        self.check(f"{name}: no socket errors, nothing left unanswered",
                   not errors and result["issued"] == result["answered"],
                   f"sent {result['issued']}, answered {result['answered']}"
                   + (f", errors {errors}" if errors else ""))
        return result

    def rows_delta(self, name):
        before, after = read_number(self.path(f"{name}.rows_before")), read_number(self.path(f"{name}.rows_after"))
        if before is None or after is None:
            return None
        return int(after - before)

    def cpu_seconds(self, name):
        before, after = read_number(self.path(f"{name}.cpu_before")), read_number(self.path(f"{name}.cpu_after"))
        if before is None or after is None:
            return None
        return (after - before) / self.clk_tck

    def load(self):
        f = self.figures
        # (1)
        r = self.wrk_phase("healthz", 200)
        if r:
            f["healthz"] = rate(r, 200)
        # (2)
        best = None
        for clients in (8, 16, 32, 64):
            p = self.path(f"pgbench.c{clients}")
            if not os.path.exists(p):
                continue
            text = open(p).read()
            m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
            failed = re.search(r"number of failed transactions: (\d+)", text)
            ok = m is not None and (failed is None or failed.group(1) == "0") and "aborted" not in text
            self.check(f"pgbench: {clients} clients ran cleanly", ok,
                       f"{float(m.group(1)):.0f} tps" if m else (text.strip().splitlines() or ["no output"])[-1])
            if m and ok:
                tps = float(m.group(1))
                f[f"pgbench_c{clients}"] = tps
                if best is None or tps > best[0]:
                    best = (tps, clients)
        if best:
            f["pgbench"], f["pgbench_clients"] = best
        # (3)
        r = self.wrk_phase("single", 202)
        if r:
            accepted = r["statuses"].get(202, 0)
            f["single"] = rate(r, 202)
            delta = self.rows_delta("single")
            self.check("single: rows stored = 202 answers", delta == accepted, f"{delta} rows, {accepted} × 202")
            cpu = self.cpu_seconds("single")
            if cpu is not None and accepted:
                f["cpu_us"] = cpu * 1e6 / accepted
        # (4)
        for name, status in (("badkey", 401), ("ctype", 415), ("big", 413)):
            r = self.wrk_phase(name, status)
            if r:
                f[name] = rate(r, status)
        # (5)
        r = self.wrk_phase("batch", 202)
        if r:
            events = r["accepted_events"]
            f["batch"] = rate(r, count=events)
            delta = self.rows_delta("batch")
            self.check("batch: rows stored = events accepted", delta == events,
                       f"{delta} rows, {events} accepted in {r['statuses'].get(202, 0)} batches")
            self.check(f"batch: every batch accepted all {self.batch_size}",
                       events == r["statuses"].get(202, 0) * self.batch_size,
                       f"{events} events in {r['statuses'].get(202, 0)} batches")
        # (6)
        r = self.wrk_phase("dup", 200)
        if r:
            first = open(self.path("dup.first.status")).read().strip() if os.path.exists(self.path("dup.first.status")) else "?"
            self.check("dup: the first send accepted (202)", first == "202", f"first send answered {first}")
            f["dup"] = rate(r, count=r["duplicate_bodies"])
            self.check("dup: every 200 says duplicate", r["duplicate_bodies"] == r["statuses"].get(200, 0),
                       f"{r['duplicate_bodies']} of {r['statuses'].get(200, 0)}")
            delta = self.rows_delta("dup")
            self.check("dup: replays stored nothing", delta == 0, f"{delta} rows added")
        # (7)
        o = read_json(self.path("open.json"))
        if os.path.exists(self.path("open.json")) or os.path.exists(self.path("open.rate")):
            if o is None:
                self.check("open: oha result", False, "oha printed no JSON (see open.json.err)")
            else:
                statuses = {int(k): v for k, v in o.get("statusCodeDistribution", {}).items()}
                self.statuses_429 += statuses.get(429, 0)
                accepted = statuses.get(202, 0)
                others = {s: n for s, n in statuses.items() if s != 202}
                errors = o.get("errorDistribution", {})
                target = read_number(self.path("open.rate"))
                achieved = o["summary"].get("requestsPerSec") or 0
                f["open_rate"] = target
                f["open_achieved"] = achieved
                lat = o.get("latencyPercentiles", {})
                if lat.get("p50") is not None:
                    f["open_p50"] = lat["p50"] * 1000
                    f["open_p99"] = lat["p99"] * 1000
                self.check("open: every answer 202", not others and accepted > 0,
                           f"{accepted} × 202" + (f", others {others}" if others else ""))
                self.check("open: no client errors", not errors, f"{errors}" if errors else "none")
                delta = self.rows_delta("open")
                self.check("open: rows stored = 202 answers", delta == accepted, f"{delta} rows, {accepted} × 202")
                if target:
                    self.check("open: the offered rate was kept (≥ 90 %)", achieved >= 0.9 * target,
                               f"{achieved:.0f} of {target:.0f}/s")
        # (8)
        o = read_json(self.path("tab.json"))
        if os.path.exists(self.path("tab.json")):
            if o is None:
                self.check("tab: oha result", False, "oha printed no JSON (see tab.json.err)")
            else:
                statuses = {int(k): v for k, v in o.get("statusCodeDistribution", {}).items()}
                lat = o.get("latencyPercentiles", {})
                if lat.get("p50") is not None:
                    f["tab_p50"] = lat["p50"] * 1000
                    f["tab_p99"] = lat["p99"] * 1000
                f["tab_rps"] = o["summary"].get("requestsPerSec")
                others = {s: n for s, n in statuses.items() if s != 200}
                self.check("tab: every answer 200", not others and statuses.get(200, 0) > 0,
                           f"{statuses.get(200, 0)} × 200" + (f", others {others}" if others else ""))
                keys = read_number(self.path("tab.keys"))
                in_db = read_number(self.path("tab.keys_in_db"))
                # The tab may paginate (50 a page is fine): the domain must hold 1,000 keys
                # and the page must list some of them.
                self.check("tab: the domain has 1,000 keys and the page lists them",
                           in_db == 1000 and keys is not None and keys > 0,
                           f"{in_db and int(in_db)} keys in the database, {keys and int(keys)} on the first page")
        # (9)
        rss = read_number(self.path("rss_kb"))
        if rss is not None:
            f["rss"] = rss * 1024 / 1e6
        # the server's own log (RUST_LOG=warn: every line is a warning or an error)
        log = self.path("server.log")
        self.log_lines = [l.rstrip() for l in open(log, errors="replace")] if os.path.exists(log) else []
        # (the startup banner is printed, not logged; keep warnings, errors and panics)
        self.log_lines = [l for l in self.log_lines
                          if re.search(r"\b(WARN|ERROR)\b|\"level\":\"(WARN|ERROR)\"|panicked", l)]
        self.check("server log: no warnings or errors", not self.log_lines, f"{len(self.log_lines)} lines")
        self.check("no 429 (the default rate limit must not throttle)", self.statuses_429 == 0,
                   f"{self.statuses_429} × 429")


def fmt(value, kind):
    if value is None:
        return "—"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if kind == "us":
        return f"{value:.0f} µs"
    if kind == "mb":
        return f"{value:.1f} MB"
    return str(value)


def report(work, only):
    machine = {}
    for line in open(os.path.join(work, "machine.txt")):
        if "=" in line:
            for part in (line.strip().split(" ") if line.startswith(("seconds=", "connections=")) else [line.strip()]):
                k, _, v = part.partition("=")
                machine[k] = v
    clk_tck = int(machine.get("clk_tck", "100"))
    batch_size = int(machine.get("batch_size", "500"))
    run_dirs = sorted((d for d in os.listdir(work) if re.fullmatch(r"run\d+", d)), key=lambda d: int(d[3:]))
    runs = [Run(os.path.join(work, d), clk_tck, batch_size) for d in run_dirs]
    wanted = set(only.split(","))

    def values(key):
        return [r.figures.get(key) for r in runs]

    def median(key):
        present = [v for v in values(key) if v is not None]
        return statistics.median(present) if present else None

    def ratio(a, b):
        ma, mb = median(a), median(b)
        return ma / mb if ma is not None and mb else None

    rows = []  # (number, label, key, kind, target text, pass or None)

    def at_least(r, threshold):
        return None if r is None else r >= threshold

    def at_most(v, threshold):
        return None if v is None else v <= threshold

    conns, bconns = machine.get("connections"), machine.get("batch_connections")
    r32, r41, r53, r63 = ratio("single", "pgbench"), ratio("badkey", "healthz"), ratio("batch", "single"), ratio("dup", "single")
    rows.append(("1", "GET /healthz, requests/s", "healthz", "int", "", None))
    best_clients = statistics.mode([c for c in values("pgbench_clients") if c] or [0])
    rows.append(("2", "pgbench 1-row INSERT/tx, best tps (8–64 cl.)", "pgbench", "int",
                 f"best at {best_clients} clients" if best_clients else "", None))
    rows.append(("3", f"accepted single events/s ({conns} conns)", "single", "int",
                 f"(3)/(2) ≥ 2.0: {r32:.2f}" if r32 is not None else "(3)/(2) ≥ 2.0", at_least(r32, 2.0)))
    rows.append(("3", "  server CPU per accepted event", "cpu_us", "us", "", None))
    rows.append(("4", "bad-checksum key rejected (401), req/s", "badkey", "int",
                 f"(4)/(1) ≥ 0.5: {r41:.2f}" if r41 is not None else "(4)/(1) ≥ 0.5", at_least(r41, 0.5)))
    rows.append(("4", "  415 text/plain, req/s", "ctype", "int", "no target", None))
    rows.append(("4", "  413 70 KiB body, req/s", "big", "int", "no target", None))
    rows.append(("5", f"batch events/s ({batch_size}/batch, {bconns} conns)", "batch", "int",
                 f"(5)/(3) ≥ 3: {r53:.2f}" if r53 is not None else "(5)/(3) ≥ 3", at_least(r53, 3.0)))
    rows.append(("6", f"duplicate replays/s ({conns} conns)", "dup", "int",
                 f"(6)/(3) ≥ 1.0: {r63:.2f}" if r63 is not None else "(6)/(3) ≥ 1.0", at_least(r63, 1.0)))
    rows.append(("7", "open-loop rate offered = ½(3), events/s", "open_rate", "int", "", None))
    rows.append(("7", "  achieved, events/s", "open_achieved", "int", "", None))
    rows.append(("7", "  p50 latency", "open_p50", "ms", "", None))
    rows.append(("7", "  p99 latency", "open_p99", "ms", "≤ 25 ms", at_most(median("open_p99"), 25)))
    rows.append(("8", f"keys tab, 1,000 keys: p50 ({machine.get('tab_connections')} conn)", "tab_p50", "ms", "", None))
    rows.append(("8", "  p99", "tab_p99", "ms", "≤ 50 ms", at_most(median("tab_p99"), 50)))
    rows.append(("9", "server peak RSS (VmHWM)", "rss", "mb", "≤ 150 MB", at_most(median("rss"), 150)))

    mem_gib = int(machine.get("mem_kb", "0")) / 1024 / 1024
    print()
    print(f"CleanClicks inbound benchmark — {machine.get('started')}, commit {machine.get('commit')}")
    print(f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {mem_gib:.1f} GiB RAM, Linux {machine.get('kernel')}, "
          f"load average at start {machine.get('loadavg')}")
    print(f"PostgreSQL {machine.get('pg_version')} on 127.0.0.1: synchronous_commit={machine.get('pg_synchronous_commit')}, "
          f"fsync={machine.get('pg_fsync')}, wal_sync_method={machine.get('pg_wal_sync_method')}, "
          f"shared_buffers={machine.get('pg_shared_buffers')}, max_connections={machine.get('pg_max_connections')}")
    if machine.get("pg_overrides"):
        print(f"  per-database/role overrides: {machine['pg_overrides']}")
    if machine.get("app_sets_sync_commit"):
        print(f"  WARNING: the server's source mentions synchronous_commit: {machine['app_sets_sync_commit']}")
    print(f"Tools: wrk {machine.get('wrk')} ({machine.get('threads')} threads), oha {machine.get('oha')}, pgbench {machine.get('pgbench')}; "
          f"{machine.get('seconds')} s per phase, {len(runs)} runs (new database and server each); "
          f"server env: {machine.get('server_env') or 'defaults'}, RUST_LOG=warn, CC_RATE_LIMIT unset")
    print()
    label_w = max(len(r[1]) for r in rows) + 1
    head = f"{'':>2} {'figure':<{label_w}}" + "".join(f"{'run ' + str(i + 1):>11}" for i in range(len(runs))) \
        + f"{'median':>11}  {'target':<20} result"
    print(head)
    print("-" * len(head) + "-" * 4)
    any_fail = False
    for number, label, key, kind, target, ok in rows:
        if number not in wanted:
            continue
        cells = "".join(f"{fmt(v, kind):>11}" for v in values(key))
        has_target = target.startswith(("≤", "("))
        verdict = ("PASS" if ok else "FAIL" if ok is False else "—") if has_target else ""
        if ok is False:
            any_fail = True
        print(f"{number:>2} {label:<{label_w}}{cells}{fmt(median(key), kind):>11}  {target:<20} {verdict}")
    print(f"({TARGETS_NOTE}; ratios are of medians)")

    print()
    print("Checks (nothing lost, nothing doubled, nothing refused):")
    names = []
    for run in runs:
        for name, _, _ in run.checks:
            if name not in names:
                names.append(name)
    any_check_failed = False
    for name in names:
        results = []
        for i, run in enumerate(runs):
            found = [(ok, detail) for n, ok, detail in run.checks if n == name]
            if found:
                ok, detail = found[0]
                any_check_failed |= not ok
                results.append(f"run {i + 1} {'ok' if ok else 'FAILED'} ({detail})")
        mark = "ok    " if all("FAILED" not in r for r in results) else "FAILED"
        print(f"  {mark} {name}: " + "; ".join(results))
    for i, run in enumerate(runs):
        if run.log_lines:
            print(f"  server log of run {i + 1} (first lines):")
            for line in run.log_lines[:5]:
                print(f"    {line[:200]}")
    elapsed = machine.get("elapsed")
    if elapsed:
        print(f"\nFull run: {int(elapsed) // 60} min {int(elapsed) % 60} s")
    if any_check_failed:
        print("RESULT: a correctness check FAILED (figures above are not trustworthy)")
        return 2
    if any_fail:
        print("RESULT: checks passed; some targets FAIL")
        return 1
    print("RESULT: every check passed and every target met")
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "half-rate":
        half_rate(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        sys.exit(report(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
