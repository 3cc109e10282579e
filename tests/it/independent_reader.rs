//! Our Parquet read back by independent readers: DuckDB gives the same rows and answers, and
//! pyarrow sees the physical types Athena needs.

use tributary_fixtures::expected::compare_rows;

use crate::helpers::*;

/// DuckDB over the warehouse files: counts, the funnel, and every order change.
const DUCKDB_SCRIPT: &str = r#"
import duckdb, json, sys
wh = sys.argv[1]
con = duckdb.connect()
def table(name):
    return f"read_parquet('{wh}/{name}/*/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
out = {}
out["counts"] = {t: con.execute(f"SELECT COUNT(*) FROM {table(t)}").fetchone()[0]
                 for t in ["events", "order_changes", "user_changes"]}
rows = con.execute(f"""
  WITH per_user AS (
    SELECT year || '-' || month || '-' || day AS day, userid,
           MAX(CASE WHEN eventtype = 'PAGE_VIEW' AND properties.page LIKE '/products/%' THEN 1 ELSE 0 END) AS viewed,
           MAX(CASE WHEN eventtype = 'ADD_TO_CART' THEN 1 ELSE 0 END) AS carted,
           MAX(CASE WHEN eventtype = 'PURCHASE' THEN 1 ELSE 0 END) AS purchased
    FROM {table('events')} GROUP BY 1, 2)
  SELECT day, SUM(viewed), SUM(viewed * carted), SUM(viewed * carted * purchased) FROM per_user GROUP BY day ORDER BY day
""").fetchall()
rate = lambda n, d: round(n / d, 4) if d else None
out["funnel"] = [{"day": d, "viewers": int(v), "carters": int(c), "purchasers": int(p),
                  "view_to_cart_rate": rate(c, v), "cart_to_purchase_rate": rate(p, c)} for d, v, c, p in rows]
rows = con.execute(f"""
  SELECT event_id, sequence_number, operation, status, CAST(total_amount AS VARCHAR), epoch_ms(created_at),
         len(items), CAST(items[1].price AS VARCHAR), extra_attributes
  FROM {table('order_changes')} ORDER BY event_id
""").fetchall()
out["order_changes"] = [list(r) for r in rows]
print(json.dumps(out))
"#;

/// pyarrow: the physical and logical Parquet types of one file of each table.
const PYARROW_SCRIPT: &str = r#"
import glob, json, sys
import pyarrow.parquet as pq
wh = sys.argv[1]
out = {}
for t in ["events", "order_changes", "user_changes"]:
    f = sorted(glob.glob(f"{wh}/{t}/year=*/month=*/day=*/*.parquet"))[0]
    schema = pq.ParquetFile(f).schema
    out[t] = {c.path: [c.physical_type, str(c.logical_type)] for c in (schema.column(i) for i in range(len(schema)))}
    out[t + "_codec"] = pq.ParquetFile(f).metadata.row_group(0).column(0).compression
print(json.dumps(out))
"#;

#[test]
fn duckdb_reads_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    backfill(path_str(&f.events_dir), "events", wh, &[]);
    backfill(path_str(&f.stream_dir), "dynamodb-stream", wh, &[]);
    let e = expected();

    let duck = python_json(DUCKDB_SCRIPT, &[wh]);
    assert_eq!(duck["counts"]["events"], e.counts.events);
    assert_eq!(duck["counts"]["order_changes"], e.counts.order_changes);
    assert_eq!(duck["counts"]["user_changes"], e.counts.user_changes);
    let funnel: Vec<serde_json::Value> = serde_json::from_value(duck["funnel"].clone()).unwrap();
    compare_rows("funnel in DuckDB", &funnel, &e.funnel).unwrap();

    // every order change, column by column, as DataFusion reads it
    // timestamps are microseconds in the Delta tables' files
    assert_order_changes_equal(
        wh,
        "CAST(created_at AS BIGINT) / 1000",
        &duck["order_changes"],
    );
}

/// Our `order_changes`, row by row in `event_id` order, equal DuckDB's rows of the columns its
/// scripts select (`created_ms` as our SQL expression `created_ms` gives it).
pub fn assert_order_changes_equal(wh: &str, created_ms: &str, theirs: &serde_json::Value) {
    let ours = sql(
        wh,
        &format!(
            "SELECT event_id, sequence_number, operation, status, CAST(total_amount AS VARCHAR) AS total, \
                    {created_ms} AS created_ms, cardinality(items) AS n_items, \
                    CAST(get_field(items[1], 'price') AS VARCHAR) AS first_price, extra_attributes \
             FROM order_changes ORDER BY event_id"
        ),
    );
    let theirs = theirs.as_array().unwrap();
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(theirs) {
        let o = [
            &o["event_id"],
            &o["sequence_number"],
            &o["operation"],
            &o["status"],
            &o["total"],
            &o["created_ms"],
            &o["n_items"],
            &o["first_price"],
            &o["extra_attributes"],
        ];
        let t: Vec<&serde_json::Value> = t.as_array().unwrap().iter().collect();
        assert_eq!(o.as_slice(), t.as_slice());
    }
}

#[test]
fn pyarrow_sees_athena_types() {
    let dir = tempfile::tempdir().unwrap();
    let wh = path_str(dir.path());
    let (_, f) = fixtures();
    backfill(path_str(&f.events_dir), "events", wh, &[]);
    backfill(
        path_str(&f.stream_dir),
        "dynamodb-stream",
        wh,
        &["--codec", "snappy"],
    );
    let types = python_json(PYARROW_SCRIPT, &[wh]);
    for table in ["events", "order_changes", "user_changes"] {
        for (column, t) in types[table].as_object().unwrap() {
            assert_ne!(t[0], "INT96", "{table}.{column}");
        }
    }
    let oc = &types["order_changes"];
    assert_eq!(oc["created_at"][0], "INT64");
    assert!(
        oc["created_at"][1].as_str().unwrap().contains("Timestamp"),
        "{oc}"
    );
    assert!(
        oc["total_amount"][1]
            .as_str()
            .unwrap()
            .contains("Decimal(precision=18, scale=4)"),
        "{oc}"
    );
    assert!(
        oc["items.list.item.price"][1]
            .as_str()
            .unwrap()
            .contains("Decimal"),
        "{oc}"
    );
    assert_eq!(types["events"]["timestamp"][0], "INT64");
    assert_eq!(types["events_codec"], "ZSTD");
    assert_eq!(types["order_changes_codec"], "SNAPPY");
}
