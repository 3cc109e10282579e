//! A second domain end to end on LocalStack: the README's helpdesk (tickets and customers in
//! one DynamoDB table, written with PutItem, UpdateItem and DeleteItem, so the emulator writes
//! the change records) and its telemetry (nested JSON events on Kinesis), through the stream
//! worker with `--schema docs/examples/helpdesk.toml`. Every column of every change row and
//! of the current-state tables is checked against what the test wrote; records of the wrong
//! type become dead letters that name the column.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::emulator::*;
use crate::helpers::*;

/// 2026-01-01T00:00:00Z in epoch seconds.
const START: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

pub fn helpdesk_schema() -> String {
    format!("{}/docs/examples/helpdesk.toml", env!("CARGO_MANIFEST_DIR"))
}

/// `tributary --schema <helpdesk> sql … --format json`.
fn helpdesk_sql(warehouse: &str, sql: &str) -> Vec<Value> {
    sql_with(Some(&helpdesk_schema()), warehouse, sql)
}

/// The expected row of each of `items`, with `column` set to what `row` gives beside it.
fn rows_with<T>(items: &[T], column: &str, row: impl Fn(&T) -> (Value, Value)) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            let (mut row, value) = row(item);
            row[column] = value;
            row
        })
        .collect()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[derive(Debug, Clone)]
struct Ticket {
    customer: String,
    id: String,
    subject: String,
    status: String,
    priority: i64,
    tags: Vec<String>,
    /// The exact decimal text written.
    amount: String,
    opened_at: i64,
    closed_at: Option<i64>,
    assignee: (String, String),
    channel: String,
}

impl Ticket {
    fn key(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".into(), s(&format!("CUSTOMER#{}", self.customer))),
            ("SK".into(), s(&format!("TICKET#{}", self.id))),
        ])
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let mut item = self.key();
        item.insert("subject".into(), s(&self.subject));
        item.insert("status".into(), s(&self.status));
        item.insert("priority".into(), n(self.priority));
        item.insert("tags".into(), AttributeValue::Ss(self.tags.clone()));
        item.insert("amount".into(), n(&self.amount));
        item.insert("openedAt".into(), n(self.opened_at));
        if let Some(closed) = self.closed_at {
            item.insert("closedAt".into(), n(closed));
        }
        item.insert(
            "assignee".into(),
            AttributeValue::M(HashMap::from([
                ("name".into(), s(&self.assignee.0)),
                ("team".into(), s(&self.assignee.1)),
            ])),
        );
        item.insert("channel".into(), s(&self.channel));
        item
    }

    /// The row [`TICKET_COLUMNS`] selects.
    fn row(&self) -> Value {
        let mut tags = self.tags.clone();
        tags.sort();
        json!({
            "customer_id": self.customer, "ticket_id": self.id, "subject": self.subject,
            "status": self.status, "priority": self.priority, "tags": tags.join(","),
            "amount": self.amount, "opened_at": self.opened_at, "closed_at": self.closed_at,
            "assignee_name": self.assignee.0, "assignee_team": self.assignee.1,
            "extra_attributes": json!({"channel": self.channel}).to_string(),
            "day": 1 + (self.opened_at - START) / DAY,
        })
    }
}

/// Every ticket column, in comparable forms (exact decimal text, epoch seconds, sorted tags).
const TICKET_COLUMNS: &str = "customer_id, ticket_id, subject, status, priority, \
    array_join(array_sort(tags), ',') AS tags, CAST(amount AS VARCHAR) AS amount, \
    CAST(to_unixtime(opened_at) AS BIGINT) AS opened_at, \
    CAST(to_unixtime(closed_at) AS BIGINT) AS closed_at, assignee.name AS assignee_name, \
    assignee.team AS assignee_team, extra_attributes, day";

#[derive(Debug, Clone)]
struct Customer {
    id: String,
    name: String,
    plan: String,
    created_at: i64,
    region: String,
}

impl Customer {
    fn key(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".into(), s(&format!("CUSTOMER#{}", self.id))),
            ("SK".into(), s("PROFILE")),
        ])
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let mut item = self.key();
        item.insert("name".into(), s(&self.name));
        item.insert("plan".into(), s(&self.plan));
        item.insert("createdAt".into(), n(self.created_at));
        item.insert("region".into(), s(&self.region));
        item
    }

    fn row(&self) -> Value {
        json!({
            "customer_id": self.id, "name": self.name, "plan": self.plan,
            "created_at": self.created_at,
            "extra_attributes": json!({"region": self.region}).to_string(),
        })
    }
}

const CUSTOMER_COLUMNS: &str = "customer_id, name, plan, \
    CAST(to_unixtime(created_at) AS BIGINT) AS created_at, extra_attributes";

/// One telemetry event as sent, and the row it must become.
fn telemetry_event(i: i64) -> (Value, Value) {
    let ts = (START + (i % 4) * DAY) * 1000 + i;
    let os = ["ios", "android"][i as usize % 2];
    let version = format!("2.{}.0", i % 3);
    let latency = i as f64 * 1.25;
    let event = json!({
        "timestamp": ts, "sessionId": format!("s{i:03}"), "event": "tap",
        "app": {"version": version},
        "device": {"os": {"name": os, "version": "17"}, "model": format!("m{}", i % 5)},
        "metrics": {"latencyMs": latency},
        "screen": {"name": "home", "width": 390 + i, "height": 844},
        "labels": {"ab": format!("v{}", i % 2)},
        "attempt": i,
    });
    let extra = json!({
        "attempt": i,
        "device": {"model": format!("m{}", i % 5), "os": {"version": "17"}},
    });
    let row = json!({
        "ts": ts, "session_id": format!("s{i:03}"), "event": "tap", "app_version": version,
        "device_os": os, "latency_ms": latency, "screen_name": "home",
        "screen_width": 390 + i, "screen_height": 844, "label_ab": format!("v{}", i % 2),
        "extra": extra.to_string(), "day": 1 + i % 4,
    });
    (event, row)
}

const TELEMETRY_COLUMNS: &str = "CAST(round(to_unixtime(ts) * 1000) AS BIGINT) AS ts, session_id, \
    event, app_version, device_os, latency_ms, screen.name AS screen_name, \
    screen.width AS screen_width, screen.height AS screen_height, \
    element_at(labels, 'ab') AS label_ab, extra, day";

/// Compares query rows with expected rows column by column (a column the JSON output leaves
/// out is NULL).
fn assert_rows(what: &str, actual: &[Value], expected: &[Value]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: row count\nactual: {actual:#?}"
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        for (column, want) in e.as_object().expect("an expected row") {
            let got = a.get(column).unwrap_or(&Value::Null);
            let same = match (got.as_f64(), want.as_f64()) {
                (Some(g), Some(w)) => (g - w).abs() < 1e-9,
                _ => got == want,
            };
            assert!(
                same,
                "{what}: row {i}, column {column}: {got} != {want}\nrow: {a}\nexpected: {e}"
            );
        }
    }
}

/// Dead letters under `prefix` of the bucket, as JSON lines.
async fn dead_letters(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<Value> {
    let mut lines = Vec::new();
    for key in list_keys(s3, bucket, prefix).await {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("get dead letters")
            .body
            .collect()
            .await
            .expect("read dead letters");
        let text = String::from_utf8(body.to_vec()).expect("utf-8 dead letters");
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_domain_lands_column_for_column_with_its_current_state() {
    let dir = tempfile::tempdir().unwrap();
    let (k, d, s3) = (kinesis().await, dynamodb().await, s3_client().await);
    let stream = create_stream(&k, "telemetry", 2).await;
    let table = create_table(&d, "helpdesk").await;
    let bucket = create_bucket(&s3, "helpdesk-wh").await;
    let wh = format!("s3://{bucket}/wh");
    let sources = [format!("kinesis:{stream}"), format!("dynamodb:{table}")];
    let env = [("TRIBUTARY_SCHEMA", helpdesk_schema())];
    let worker = Worker::start(&sources, &wh, dir.path(), "worker", &[], &env);

    // the customers and their tickets, with every change kept in order per key
    let mut customers: Vec<Customer> = (0..8)
        .map(|i| Customer {
            id: format!("c{i}"),
            name: format!("Customer {i}"),
            plan: "free".into(),
            created_at: START - 1000 * (i + 1),
            region: ["eu", "us"][i as usize % 2].into(),
        })
        .collect();
    let mut tickets: Vec<Ticket> = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        for j in 0..3 {
            tickets.push(Ticket {
                customer: c.id.clone(),
                id: format!("t{i}{j}"),
                subject: format!("Subject {i}/{j} \"quoted\", ünïcode"),
                status: "open".into(),
                priority: ((i + j) % 5 + 1) as i64,
                tags: vec!["billing".into(), format!("tier{}", j)],
                amount: format!("{}.{:02}", 10 + i, (i * 7 + j) % 100),
                opened_at: START + (j as i64) * DAY + 60 * i as i64,
                closed_at: None,
                assignee: (format!("agent{}", i % 3), ["t1", "t2"][j % 2].into()),
                channel: ["email", "chat"][(i + j) % 2].into(),
            });
        }
    }
    let mut ticket_changes: Vec<(String, String, &str, Ticket)> = Vec::new();
    let mut customer_changes: Vec<(String, &str, Customer)> = Vec::new();
    for c in &customers {
        d.put_item()
            .table_name(&table)
            .set_item(Some(c.item()))
            .send()
            .await
            .expect("PutItem customer");
        customer_changes.push((c.id.clone(), "INSERT", c.clone()));
    }
    for t in &tickets {
        d.put_item()
            .table_name(&table)
            .set_item(Some(t.item()))
            .send()
            .await
            .expect("PutItem ticket");
        ticket_changes.push((t.customer.clone(), t.id.clone(), "INSERT", t.clone()));
    }
    // close some tickets with an update expression: SET, arithmetic and ADD to a string set
    for (k_index, t) in tickets.iter_mut().enumerate() {
        if k_index % 3 == 2 || k_index % 2 == 1 {
            continue;
        }
        let closed = t.opened_at + 3_600;
        d.update_item()
            .table_name(&table)
            .set_key(Some(t.key()))
            .update_expression(
                "SET #s = :closed, closedAt = :at, priority = priority + :one ADD tags :tag",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":closed", s("closed"))
            .expression_attribute_values(":at", n(closed))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":tag", AttributeValue::Ss(vec!["closed".into()]))
            .send()
            .await
            .expect("UpdateItem ticket");
        t.status = "closed".into();
        t.closed_at = Some(closed);
        t.priority += 1;
        t.tags.push("closed".into());
        ticket_changes.push((t.customer.clone(), t.id.clone(), "MODIFY", t.clone()));
    }
    for (i, c) in customers.iter_mut().enumerate() {
        if i % 3 != 0 {
            continue;
        }
        d.update_item()
            .table_name(&table)
            .set_key(Some(c.key()))
            .update_expression("SET #p = :pro")
            .expression_attribute_names("#p", "plan")
            .expression_attribute_values(":pro", s("pro"))
            .send()
            .await
            .expect("UpdateItem customer");
        c.plan = "pro".into();
        customer_changes.push((c.id.clone(), "MODIFY", c.clone()));
    }
    let mut deleted = Vec::new();
    for t in tickets.iter().filter(|t| t.id.ends_with('2')).step_by(2) {
        d.delete_item()
            .table_name(&table)
            .set_key(Some(t.key()))
            .send()
            .await
            .expect("DeleteItem ticket");
        ticket_changes.push((t.customer.clone(), t.id.clone(), "REMOVE", t.clone()));
        deleted.push(t.id.clone());
    }
    // two items the schema cannot take: a priority of the wrong type, an unknown entity
    let mut bad_ticket = tickets[0].item();
    bad_ticket.insert("SK".into(), s("TICKET#bad"));
    bad_ticket.insert("priority".into(), s("high"));
    let mut note = customers[0].key();
    note.insert("SK".into(), s("NOTE#1"));
    for item in [bad_ticket, note] {
        d.put_item()
            .table_name(&table)
            .set_item(Some(item))
            .send()
            .await
            .expect("PutItem bad");
    }

    // telemetry: nested events, and two that the schema refuses
    let (events, expected_telemetry): (Vec<Value>, Vec<Value>) =
        (0..60).map(telemetry_event).unzip();
    let mut records: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            (
                e["sessionId"].as_str().unwrap().to_string(),
                e.to_string().into_bytes(),
            )
        })
        .collect();
    let bad_events = [
        json!({"timestamp": START * 1000, "sessionId": "bad1", "event": "tap", "metrics": {"latencyMs": "fast"}}),
        json!({"timestamp": START * 1000, "event": "tap"}),
    ];
    records.extend(
        bad_events
            .iter()
            .map(|e| ("bad".to_string(), e.to_string().into_bytes())),
    );
    put_records(&k, &stream, &records).await;

    let timeout = Duration::from_secs(120);
    let schema = helpdesk_schema();
    for (name, n) in [
        ("ticket_changes", ticket_changes.len()),
        ("customer_changes", customer_changes.len()),
        ("telemetry", expected_telemetry.len()),
    ] {
        wait_for_explained(
            &format!("{n} rows in {name}"),
            timeout,
            Some(&worker.log),
            || {
                let got = count_rows_with(Some(&schema), &wh, name);
                async move {
                    assert!(got <= n as u64, "{name}: more rows than changes");
                    (got == n as u64).then_some(())
                }
            },
        )
        .await;
    }
    let prefix = "wh/dead_letters/";
    let letters = wait_for_explained("4 dead letters", timeout, Some(&worker.log), || {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            let letters = dead_letters(&s3, &bucket, prefix).await;
            (letters.len() >= 4).then_some(letters)
        }
    })
    .await;
    // the current-state tables follow the commits while the worker runs
    let state_rows =
        format!("SELECT {TICKET_COLUMNS}, deleted FROM tickets ORDER BY customer_id, ticket_id");
    wait_for_explained(
        "tickets to hold every ticket's last state",
        timeout,
        Some(&worker.log),
        || {
            let rows = helpdesk_sql(&wh, &state_rows);
            let settled = rows.len() == tickets.len()
                && rows.iter().filter(|r| r["deleted"] == json!(true)).count() == deleted.len()
                && rows
                    .iter()
                    .filter(|r| r["status"] == json!("closed"))
                    .count()
                    == tickets.iter().filter(|t| t.status == "closed").count();
            async move { settled.then_some(()) }
        },
    )
    .await;
    assert!(worker.terminate(Duration::from_secs(30)).success());

    // every dead letter names what was wrong, and nothing else became one
    let mut reasons: Vec<String> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    reasons.sort();
    assert_eq!(letters.len(), 4, "{reasons:#?}");
    let expected_reasons = [
        "column latency_ms (from metrics.latencyMs): expected a number, found a string",
        "column priority (from priority, any case): expected N, found S",
        "column session_id (from session_id or sessionId, any case) is missing",
        "matches no table of the schema (PK \"CUSTOMER#c0\", SK \"NOTE#1\")",
    ];
    for want in expected_reasons {
        assert!(
            reasons.iter().any(|r| r.starts_with(want)),
            "no dead letter says {want:?}: {reasons:#?}"
        );
    }

    // every change row, column for column, in each key's order
    ticket_changes.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let expected = rows_with(&ticket_changes, "operation", |(_, _, op, t)| {
        (t.row(), json!(op))
    });
    let actual = helpdesk_sql(
        &wh,
        &format!(
            "SELECT operation, {TICKET_COLUMNS} FROM ticket_changes ORDER BY customer_id, ticket_id, sequence_number"
        ),
    );
    assert_rows("ticket_changes", &actual, &expected);
    customer_changes.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = rows_with(&customer_changes, "operation", |(_, op, c)| {
        (c.row(), json!(op))
    });
    let actual = helpdesk_sql(
        &wh,
        &format!(
            "SELECT operation, {CUSTOMER_COLUMNS} FROM customer_changes ORDER BY customer_id, sequence_number"
        ),
    );
    assert_rows("customer_changes", &actual, &expected);

    // the current state: the last state of every key, deleted ones flagged
    tickets.sort_by(|a, b| (&a.customer, &a.id).cmp(&(&b.customer, &b.id)));
    let expected = rows_with(&tickets, "deleted", |t| {
        (t.row(), json!(deleted.contains(&t.id)))
    });
    assert_rows("tickets", &helpdesk_sql(&wh, &state_rows), &expected);
    let expected = rows_with(&customers, "deleted", |c| (c.row(), json!(false)));
    let actual = helpdesk_sql(
        &wh,
        &format!("SELECT {CUSTOMER_COLUMNS}, deleted FROM customers ORDER BY customer_id"),
    );
    assert_rows("customers", &actual, &expected);

    let actual = helpdesk_sql(
        &wh,
        &format!("SELECT {TELEMETRY_COLUMNS} FROM telemetry ORDER BY session_id"),
    );
    assert_rows("telemetry", &actual, &expected_telemetry);
}
