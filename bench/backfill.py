"""Backfill and query benchmark: Tributary against DuckDB (from PyPI) on the same data.

Each measured command runs as its own child process so that its wall time and peak RSS
(ru_maxrss of that child alone) are comparable. DuckDB gets the same job: read the JSON Lines,
shape the rows, write date-partitioned Parquet (ZSTD), and for the change stream drop
redelivered eventIDs and map the single-table items to order rows.
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time

MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode()); sys.exit(r.returncode)
print(json.dumps({"seconds": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

DUCK_EVENTS = r"""
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f'''
COPY (
  SELECT eventType AS eventtype, userId AS userid, "timestamp",
         {{'page': properties.page, 'referrer': properties.referrer, 'productid': properties.productId,
          'amount': properties.amount, 'currency': properties.currency}} AS properties,
         strftime(make_timestamp("timestamp" * 1000), '%Y') AS year,
         strftime(make_timestamp("timestamp" * 1000), '%m') AS month,
         strftime(make_timestamp("timestamp" * 1000), '%d') AS day
  FROM read_json('{src}/*', format = 'newline_delimited', compression = 'auto_detect', union_by_name = true)
) TO '{out}' (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (year, month, day))
''')
"""

DUCK_STREAM = r"""
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f'''
COPY (
  WITH raw AS (
    SELECT * FROM read_json('{src}/*', format = 'newline_delimited', compression = 'auto_detect', union_by_name = true)
    QUALIFY row_number() OVER (PARTITION BY eventID) = 1
  ), img AS (
    SELECT eventName AS operation, lpad(dynamodb.SequenceNumber, 64, '0') AS sequence_number,
           make_timestamp(CAST(dynamodb.ApproximateCreationDateTime * 1000000 AS BIGINT)) AS change_time, eventID AS event_id,
           CASE WHEN eventName = 'REMOVE' THEN dynamodb.OldImage ELSE dynamodb.NewImage END AS i
    FROM raw
  )
  SELECT operation, sequence_number, change_time, event_id,
         i.orderId.S AS order_id, i.userId.S AS user_id, i.status.S AS status,
         CAST(i.totalAmount.N AS DECIMAL(18, 4)) AS total_amount, i.currency.S AS currency,
         CAST(i.createdAt.S AS TIMESTAMP) AS created_at, CAST(i.updatedAt.S AS TIMESTAMP) AS updated_at,
         list_transform(i.items.L, x -> {{'product_id': x.M.productId.S, 'quantity': CAST(x.M.quantity.N AS BIGINT),
                                         'price': CAST(x.M.price.N AS DECIMAL(18, 4))}}) AS items,
         strftime(CAST(i.createdAt.S AS TIMESTAMP), '%Y') AS year,
         strftime(CAST(i.createdAt.S AS TIMESTAMP), '%m') AS month,
         strftime(CAST(i.createdAt.S AS TIMESTAMP), '%d') AS day
  FROM img WHERE i.SK.S LIKE 'ORDER#%'
) TO '{out}' (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (year, month, day))
''')
"""

DUCK_QUERY = r"""
import duckdb, duckdb_extension_delta, json, os, sys, time
wh, sql = sys.argv[1], sys.argv[2]
ext = os.path.join(duckdb_extension_delta.__path__[0], "extensions", "v" + duckdb.__version__, "delta.duckdb_extension")
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
# the Delta tables as DuckDB's delta extension reads them (the log says which files count)
for t in ["events", "order_changes", "orders", "users"]:
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM delta_scan('{wh}/{t}')")
t = time.perf_counter()
rows = con.execute(sql).fetchall()
print(json.dumps({"query_seconds": time.perf_counter() - t, "rows": len(rows)}))
"""


def pad_items(stream_dir, target):
    """Grows every item image of the change records to about `target` bytes of typed JSON with
    the attributes a real single-table item carries besides the ones a table names (addresses,
    payment, notes, metadata): the shop's own items are ~600 bytes, real ones often 1-2 KB."""
    import gzip, hashlib, random
    words = ("parcel leave door neighbour ring twice fragile gift wrap invoice company order "
             "express weekend morning call before delivery floor stairs lift code").split()
    def padding(seed, size):
        rnd = random.Random(seed)
        text = lambda n: " ".join(rnd.choice(words) for _ in range(n))
        address = lambda: {"M": {"street": {"S": f"{rnd.randint(1, 999)} {text(2)} street"},
                                 "city": {"S": text(1).title()}, "postalCode": {"S": f"{rnd.randint(10000, 99999)}"},
                                 "country": {"S": rnd.choice(["DE", "FR", "US", "GB", "NL"])}}}
        attrs = {
            "shippingAddress": address(), "billingAddress": address(),
            "paymentMethod": {"M": {"type": {"S": "card"}, "brand": {"S": rnd.choice(["visa", "mc", "amex"])},
                                    "last4": {"S": f"{rnd.randint(0, 9999):04d}"}}},
            "promoCodes": {"SS": sorted({f"PROMO{rnd.randint(1, 99)}" for _ in range(3)})},
            "loyaltyPoints": {"N": str(rnd.randint(0, 100000))},
            "shippingCost": {"N": f"{rnd.randint(0, 2000) / 100:.2f}"},
            "metadata": {"M": {"channel": {"S": rnd.choice(["web", "ios", "android"])},
                               "campaign": {"S": text(2)}, "ip": {"S": f"10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}"},
                               "userAgent": {"S": "Mozilla/5.0 (" + text(6) + ") AppleWebKit/537.36 (KHTML, like Gecko)"}}},
            "notes": {"S": ""},
        }
        base = len(json.dumps(attrs, separators=(",", ":")))
        attrs["notes"]["S"] = text(max(0, (size - base) // 7))[:max(0, size - base)]
        return attrs
    for name in sorted(os.listdir(stream_dir)):
        path = os.path.join(stream_dir, name)
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            if not line.strip():
                continue
            r = json.loads(line)
            d = r["dynamodb"]
            for image in ("NewImage", "OldImage"):
                if image in d:
                    have = len(json.dumps(d[image], separators=(",", ":")))
                    seed = int(hashlib.md5((d["Keys"]["SK"]["S"] + image).encode()).hexdigest()[:8], 16)
                    d[image].update(padding(seed, target - have))
            out.append(json.dumps(r, separators=(",", ":")))
        with opener(path, "wt") as f:
            f.write("\n".join(out) + "\n")


def measure(cmd):
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{cmd[:3]} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def best_of(n, cmd, before=None):
    runs = []
    for _ in range(n):
        if before:
            before()
        runs.append(measure(cmd))
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tributary", required=True)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=35_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=None)
    ap.add_argument("--item-bytes", type=int, default=0,
                    help="grow every change record's item images to about this many bytes")
    ap.add_argument("--only", choices=["events", "dynamodb-stream"], default=None,
                    help="one input only, and no named queries")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="tributary-bench-")
    trib = a.tributary
    fx = os.path.join(work, "fx")
    subprocess.run([trib, "fixtures", "--out", fx, "--events", str(a.events), "--orders", str(a.orders),
                    "--users", "20000", "--days", "60"], check=True, stdout=subprocess.DEVNULL)
    expected = json.load(open(os.path.join(fx, "expected.json")))
    if a.item_bytes:
        pad_items(os.path.join(fx, "dynamodb-stream"), a.item_bytes)
    stream_records = expected["counts"]["stream_records"]
    print(f"data: {expected['counts']['events']} events, {stream_records} change records", flush=True)
    import duckdb
    results = {"events": expected["counts"]["events"], "stream_records": stream_records, "duckdb": duckdb.__version__}

    def fresh(path):
        def reset():
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return reset

    wh = os.path.join(work, "wh")
    duck_wh = os.path.join(work, "duck")
    for name, fmt, src, duck_script, rows in [
        ("events", "events", os.path.join(fx, "events"), DUCK_EVENTS, expected["counts"]["events"]),
        ("dynamodb-stream", "dynamodb-stream", os.path.join(fx, "dynamodb-stream"), DUCK_STREAM, stream_records),
    ]:
        if a.only and name != a.only:
            continue
        ours = best_of(a.runs, [trib, "backfill", "--source", src, "--format", fmt, "--warehouse", wh], fresh(wh))
        theirs = best_of(a.runs, [sys.executable, "-c", duck_script, src, os.path.join(duck_wh, name)],
                         fresh(os.path.join(duck_wh, name)))
        results[name] = {"tributary": ours, "duckdb": theirs, "records": rows}
        print(f"backfill {name:16} tributary {ours['seconds']:6.2f} s {rows / ours['seconds']:>10,.0f} rec/s "
              f"{ours['peak_rss_mib']:6.0f} MiB | duckdb {theirs['seconds']:6.2f} s {rows / theirs['seconds']:>10,.0f} rec/s "
              f"{theirs['peak_rss_mib']:6.0f} MiB | duckdb/tributary time {theirs['seconds'] / ours['seconds']:.2f}x", flush=True)

    if a.only:
        print(json.dumps(results, indent=2))
        return
    # named queries: same SQL text on both engines, over the same Parquet (ours, both inputs)
    wh = os.path.join(work, "wh-all")
    for fmt, src in [("events", "events"), ("dynamodb-stream", "dynamodb-stream")]:
        subprocess.run([trib, "backfill", "--source", os.path.join(fx, src), "--format", fmt, "--warehouse", wh],
                       check=True, stdout=subprocess.DEVNULL)
    for q in ["daily-orders", "top-users", "funnel"]:
        sql = subprocess.run([trib, "query", q, "--print-sql"], check=True, capture_output=True, text=True).stdout
        ours = best_of(a.runs, [trib, "query", q, "--warehouse", wh, "--format", "csv"])
        theirs = []
        for _ in range(a.runs):
            r = subprocess.run([sys.executable, "-c", DUCK_QUERY, wh, sql.rstrip().rstrip(";")], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"duckdb {q} failed:\n{r.stderr}")
            theirs.append(json.loads(r.stdout))
        duck_s = min(t["query_seconds"] for t in theirs)
        results[q] = {"tributary_process_seconds": ours["seconds"], "tributary_peak_rss_mib": ours["peak_rss_mib"],
                      "duckdb_query_seconds": duck_s}
        print(f"query {q:13} tributary {ours['seconds']:6.3f} s (whole process, {ours['peak_rss_mib']:4.0f} MiB) | "
              f"duckdb {duck_s:6.3f} s (query only) | ratio {ours['seconds'] / duck_s:.2f}x", flush=True)
    print(json.dumps(results, indent=2))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
