"""Stream worker benchmark, part 1: the in-process path on one core against DuckDB on one core.

Ours: `examples/stream_path` feeds records held in memory (as GetRecords returns them) through
the worker's own decode → Arrow → Parquet functions on a single thread. The peer: DuckDB 1 thread
doing the same job from the same JSON Lines (read, shape, write partitioned ZSTD Parquet).
Both measured in the same run; ratios > 1 mean Tributary is faster.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backfill import DUCK_EVENTS, DUCK_STREAM, best_of  # noqa: E402

ONE_THREAD = "con = duckdb.connect(config={'threads': 1})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=35_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tributary-stream-bench-")
    fx = os.path.join(work, "fx")
    subprocess.run([os.path.join(a.bin_dir, "tributary"), "fixtures", "--out", fx, "--events", str(a.events),
                    "--orders", str(a.orders), "--users", "20000", "--days", "60"], check=True, stdout=subprocess.DEVNULL)
    events, stream = os.path.join(fx, "events"), os.path.join(fx, "dynamodb-stream")
    runs = [subprocess.run([os.path.join(a.bin_dir, "examples", "stream_path"), events, stream],
                           check=True, capture_output=True, text=True).stdout for _ in range(a.runs)]
    ours = {}
    for out in runs:
        for line in out.splitlines():
            r = json.loads(line)
            best = ours.get(r["workload"])
            if best is None or r["seconds"] < best["seconds"]:
                ours[r["workload"]] = r
    import duckdb

    def duck(script, src, out):
        out = os.path.join(work, out)
        return best_of(a.runs, [sys.executable, "-c", script.replace("con = duckdb.connect()", ONE_THREAD), src, out],
                       lambda: shutil.rmtree(out, ignore_errors=True))

    peers = {
        "kinesis events": duck(DUCK_EVENTS, events, "duck-events"),
        "dynamodb stream records": duck(DUCK_STREAM, stream, "duck-stream"),
    }
    print(f"duckdb {duckdb.__version__}, one core each, best of {a.runs}")
    for name, r in ours.items():
        line = (f"{name:38} {r['rows']:>9,} rows {r['seconds']:6.2f} s {r['rows_per_second']:>10,.0f} rows/s/core "
                f"cpu {r['cpu_seconds_per_100k_rows']:.3f} s/100k  peak {r['peak_rss_mib']:5.0f} MiB "
                f"(inputs {r['rss_with_inputs_loaded_mib']:4.0f})")
        peer = peers.get(name)
        if peer:
            line += (f" | duckdb {peer['seconds']:6.2f} s {r['rows'] / peer['seconds']:>10,.0f} rows/s "
                     f"{peer['peak_rss_mib']:5.0f} MiB | ratio {peer['seconds'] / r['seconds']:.2f}x")
        print(line, flush=True)


if __name__ == "__main__":
    main()
