//! Small helpers to read `Any` rows the same way on both backends.

use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) fn s(row: &AnyRow, col: &str) -> String {
    row.try_get::<String, _>(col).unwrap_or_default()
}

pub(crate) fn os(row: &AnyRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col).ok().flatten()
}

pub(crate) fn i(row: &AnyRow, col: &str) -> i64 {
    row.try_get::<i64, _>(col).unwrap_or_default()
}

pub(crate) fn oi(row: &AnyRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).ok().flatten()
}

pub(crate) fn b(row: &AnyRow, col: &str) -> bool {
    i(row, col) != 0
}

pub(crate) fn json(row: &AnyRow, col: &str) -> serde_json::Value {
    serde_json::from_str(&s(row, col)).unwrap_or(serde_json::Value::Null)
}
