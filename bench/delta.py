"""Delta Lake lifecycle benchmark (issue 13's figures), in one run:

month  -- a month of streaming, compressed: the fixture backfilled in one run, and the same rows
          committed again as --flushes small flushes of two shards by examples/month_of_flushes
          (the worker's own file writer and group committer). File counts, log size and the named
          queries on both, then `tributary compact`: its time, peak RSS and rows/s, and the
          queries again. After compaction each query should be within 1.2x of the one-run
          warehouse.
large  -- 10M events: `tributary backfill` against the previous main's binary (--baseline) on the
          same inputs (time, rows/s, peak RSS), then the named queries as whole processes
          against the DuckDB CLI (duckdb-cli from PyPI) running the same SQL over the same
          tables: through its delta extension (delta_scan, how DuckDB reads a Delta table) and,
          the peer's fastest path, read_parquet over the tables' files (a one-run backfill has
          no replaced files, so the two read the same rows).

Each measured command is its own child process (wall time and the child's ru_maxrss).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backfill import best_of, measure  # noqa: E402

QUERIES = ["daily-orders", "top-users", "funnel"]
TABLES = ["events", "order_changes", "user_changes", "orders", "users"]


def fixtures(trib, out, events, orders, users):
    if not os.path.exists(os.path.join(out, "expected.json")):
        subprocess.run([trib, "fixtures", "--out", out, "--events", str(events), "--orders", str(orders),
                        "--users", str(users), "--days", "60"], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(os.path.join(out, "expected.json")))


def backfill(trib, fx, wh, extra=()):
    for fmt in ["events", "dynamodb-stream"]:
        subprocess.run([trib, "backfill", "--source", os.path.join(fx, fmt), "--format", fmt, "--warehouse", wh,
                        *extra], check=True, stdout=subprocess.DEVNULL)


def live_files(table_dir):
    """Replays a table's _delta_log (last checkpoint, then the commits after it): the files of
    the current snapshot and their bytes, and the log's own entries and bytes."""
    log = os.path.join(table_dir, "_delta_log")
    if not os.path.isdir(log):
        return None
    names = os.listdir(log)
    live, start = {}, -1
    last = os.path.join(log, "_last_checkpoint")
    if os.path.exists(last):
        import pyarrow.parquet as pq
        start = json.load(open(last))["version"]
        for add in pq.read_table(os.path.join(log, f"{start:020}.checkpoint.parquet"), columns=["add"]).column("add").to_pylist():
            if add:
                live[add["path"]] = add["size"]
    for v in sorted(int(n[:20]) for n in names if n.endswith(".json") and n[:20].isdigit()):
        if v <= start:
            continue
        for line in open(os.path.join(log, f"{v:020}.json")):
            action = json.loads(line)
            if "add" in action:
                live[action["add"]["path"]] = action["add"]["size"]
            elif "remove" in action:
                live.pop(action["remove"]["path"], None)
    commits = sum(1 for n in names if n.endswith(".json"))
    return {"files": len(live), "bytes": sum(live.values()), "log_entries": len(names), "commits": commits,
            "log_bytes": sum(os.path.getsize(os.path.join(log, n)) for n in names)}


def files_on_disk(table_dir):
    return sum(1 for d, _, fs in os.walk(table_dir) if "_delta_log" not in d for f in fs if f.endswith(".parquet"))


def layout(wh):
    return {t: live_files(os.path.join(wh, t)) for t in TABLES if os.path.isdir(os.path.join(wh, t))}


def rows(trib, wh, table):
    out = subprocess.run([trib, "sql", "--warehouse", wh, "--format", "json", "-c", f"SELECT COUNT(*) AS n FROM {table}"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["n"]


def our_queries(trib, wh, runs):
    return {q: best_of(runs, [trib, "query", q, "--warehouse", wh, "--format", "csv"]) for q in QUERIES}


def print_layout(title, lay):
    print(f"  {title}:")
    for t, s in lay.items():
        if s:
            print(f"    {t:14} {s['files']:>7} files {s['bytes'] / 2**20:8.1f} MiB | log: {s['commits']:>6} commits, "
                  f"{s['log_entries']:>6} entries, {s['log_bytes'] / 2**20:7.1f} MiB")


def month(a, trib, work, results):
    fx = os.path.join(work, "fx-month")
    expected = fixtures(trib, fx, a.events, a.orders, 20000)
    one = os.path.join(work, "month-one-run")
    small = os.path.join(work, "month-flushes")
    for wh in [one, small]:
        shutil.rmtree(wh, ignore_errors=True)
    backfill(trib, fx, one)
    print(f"month: {expected['counts']['events']} events, {expected['counts']['stream_records']} change records; "
          f"{a.flushes} flushes of 2 shards", flush=True)
    out = subprocess.run([os.path.join(a.bin_dir, "examples", "month_of_flushes"), "--from", one, "--to", small,
                          "--flushes", str(a.flushes), "--refresh-every", str(a.refresh_every)],
                         check=True, capture_output=True, text=True).stdout
    made = json.loads(out.strip().splitlines()[-1])
    print(f"  committed {made['files']} files in at least {made['commits_at_least']} commits, "
          f"{made['seconds']:.0f} s", flush=True)
    r = {"made": made, "one_run": {"layout": layout(one)}, "small": {"layout": layout(small)}}
    print_layout("one run", r["one_run"]["layout"])
    print_layout("small flushes", r["small"]["layout"])
    r["one_run"]["queries"] = our_queries(trib, one, a.runs)
    r["small"]["queries"] = our_queries(trib, small, a.runs)
    total_rows = sum(rows(trib, small, t) for t in TABLES)
    compact = measure([trib, "compact", "--warehouse", small])
    r["compact"] = {**compact, "rows": total_rows, "rows_per_second": total_rows / compact["seconds"]}
    print(f"  tributary compact: {compact['seconds']:.1f} s, {total_rows / compact['seconds']:,.0f} rows/s, "
          f"peak RSS {compact['peak_rss_mib']:.0f} MiB", flush=True)
    r["compacted"] = {"layout": layout(small), "queries": our_queries(trib, small, a.runs)}
    print_layout("compacted", r["compacted"]["layout"])
    subprocess.run([trib, "vacuum", "--warehouse", small, "--retain", "0s", "--allow-short-retention"], check=True, stdout=subprocess.DEVNULL)
    r["vacuumed_files_on_disk"] = {t: files_on_disk(os.path.join(small, t)) for t in TABLES}
    print(f"  after vacuum --retain 0s, files on disk: {r['vacuumed_files_on_disk']}")
    for q in QUERIES:
        o, s, c = (r[k]["queries"][q]["seconds"] for k in ["one_run", "small", "compacted"])
        print(f"  query {q:13} one run {o:6.3f} s | small flushes {s:6.3f} s ({s / o:5.2f}x) | "
              f"compacted {c:6.3f} s ({c / o:4.2f}x of one run)", flush=True)
    results["month"] = r


DUCK_VIEWS = {
    "delta_scan": "LOAD '{ext}';\n" + "".join(
        f"CREATE VIEW {t} AS SELECT * FROM delta_scan('{{wh}}/{t}');\n" for t in ["events", "orders"]),
    "read_parquet": "".join(
        f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{{wh}}/{t}/*/*/*/*.parquet', hive_partitioning = true);\n"
        for t in ["events", "orders"]),
}


def duck_cli():
    import duckdb_cli  # noqa: F401  (the duckdb-cli package: the native CLI binary)
    return os.path.join(os.path.dirname(sys.modules["duckdb_cli"].__file__), "duckdb")


def large(a, trib, work, results):
    fx = a.large_fixtures or os.path.join(work, "fx-large")
    expected = fixtures(trib, fx, a.large_events, a.large_orders, a.large_users)
    n_events, n_changes = expected["counts"]["events"], expected["counts"]["stream_records"]
    print(f"large: {n_events} events, {n_changes} change records", flush=True)
    r = {"events": n_events, "stream_records": n_changes, "backfill": {}}
    wh = os.path.join(work, "large")
    binaries = [("tributary", trib)] + ([("previous main", a.baseline)] if a.baseline else [])
    for fmt, n in [("events", n_events), ("dynamodb-stream", n_changes)]:
        for name, binary in binaries:
            target = os.path.join(work, f"large-{name.replace(' ', '-')}")

            def reset(target=target):
                shutil.rmtree(target, ignore_errors=True)
            m = best_of(a.large_runs, [binary, "backfill", "--source", os.path.join(fx, fmt), "--format", fmt,
                                       "--warehouse", target], reset)
            r["backfill"].setdefault(fmt, {})[name] = {**m, "rows_per_second": n / m["seconds"]}
            print(f"  backfill {fmt:16} {name:14} {m['seconds']:7.2f} s {n / m['seconds']:>10,.0f} rec/s "
                  f"peak RSS {m['peak_rss_mib']:5.0f} MiB", flush=True)
        if a.baseline:
            ours, theirs = (r["backfill"][fmt][k]["seconds"] for k in ["tributary", "previous main"])
            print(f"  backfill {fmt:16} previous main time / ours {theirs / ours:.2f}x", flush=True)
    shutil.rmtree(wh, ignore_errors=True)
    backfill(trib, fx, wh)
    import duckdb, duckdb_extension_delta
    ext = os.path.join(duckdb_extension_delta.__path__[0], "extensions", "v" + duckdb.__version__, "delta.duckdb_extension")
    cli = duck_cli()
    r["duckdb"] = duckdb.__version__
    r["queries"] = {}
    for q in QUERIES:
        sql = subprocess.run([trib, "query", q, "--print-sql"], check=True, capture_output=True, text=True).stdout
        ours = best_of(a.runs, [trib, "query", q, "--warehouse", wh, "--format", "csv"])
        ours_rows = len(subprocess.run([trib, "query", q, "--warehouse", wh, "--format", "csv"], check=True,
                                       capture_output=True, text=True).stdout.splitlines())
        line = f"  query {q:13} tributary {ours['seconds']:6.3f} s {ours['peak_rss_mib']:5.0f} MiB"
        r["queries"][q] = {"tributary": ours}
        for how, views in DUCK_VIEWS.items():
            script = os.path.join(work, f"{q}-{how}.sql")
            with open(script, "w") as f:
                f.write(views.format(wh=wh, ext=ext) + sql)
            cmd = [cli, "-unsigned", "-csv", "-f", script]
            theirs = best_of(a.runs, cmd)
            their_rows = len(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines())
            assert their_rows == ours_rows, f"{q}: duckdb {how} printed {their_rows} lines, ours {ours_rows}"
            r["queries"][q][how] = theirs
            line += f" | duckdb {how} {theirs['seconds']:6.3f} s {theirs['peak_rss_mib']:5.0f} MiB " \
                    f"({theirs['seconds'] / ours['seconds']:4.2f}x)"
        print(line, flush=True)
    results["large"] = r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--baseline", help="the previous main's tributary binary")
    ap.add_argument("--parts", default="month,large")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=35_000)
    ap.add_argument("--flushes", type=int, default=20_000)
    ap.add_argument("--refresh-every", type=int, default=200)
    ap.add_argument("--large-events", type=int, default=10_000_000)
    ap.add_argument("--large-orders", type=int, default=260_000)
    ap.add_argument("--large-users", type=int, default=150_000)
    ap.add_argument("--large-fixtures", help="reuse fixtures generated earlier with the same sizes")
    ap.add_argument("--large-runs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="tributary-delta-bench-")
    os.makedirs(work, exist_ok=True)
    trib = os.path.join(a.bin_dir, "tributary")
    results = {}
    if "month" in a.parts:
        month(a, trib, work, results)
    if "large" in a.parts:
        large(a, trib, work, results)
    print(json.dumps(results, indent=2))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
