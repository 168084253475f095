//! The places where SQLite and PostgreSQL differ. Everything else is shared SQL.

use crate::db::Backend;

/// Suffix that locks the selected row until the transaction ends. PostgreSQL needs it to
/// serialize "count then insert" limits; SQLite already serializes writers
/// (`BEGIN IMMEDIATE` on one writer connection), so it needs nothing.
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// Suffix that locks the selected rows and skips rows another transaction holds, so
/// concurrent workers claim disjoint rows. SQLite's single writer already serializes claims.
pub fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// The statement that opens a write transaction.
pub fn begin_write(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "BEGIN",
        Backend::Sqlite => "BEGIN IMMEDIATE",
    }
}

/// A JSON value bound as text, stored as the backend's JSON type.
pub fn json_param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("CAST(${n} AS jsonb)"),
        Backend::Sqlite => format!("${n}"),
    }
}

/// A text expression holding JSON, as the backend's JSON type.
pub fn as_json(backend: Backend, expr: &str) -> String {
    match backend {
        Backend::Postgres => format!("CAST({expr} AS jsonb)"),
        Backend::Sqlite => expr.to_string(),
    }
}

/// A JSON column read back as text.
pub fn json_text(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Postgres => format!("{column}::text"),
        Backend::Sqlite => column.to_string(),
    }
}

/// `(text, type)` expressions for a path inside a JSON document column; the path's keys are
/// bound parameters starting at `$first` (returned: how many parameters were used, and the
/// parameters' values). Types are normalized to `string`, `number`, `boolean`, `null`,
/// `object`, `array`, or SQL NULL when the path is missing.
pub fn json_path(
    backend: Backend,
    column: &str,
    path: &[String],
    first: usize,
) -> (String, String, Vec<String>) {
    match backend {
        Backend::Postgres => {
            let args: Vec<String> = (0..path.len()).map(|i| format!("${}", first + i)).collect();
            let args = args.join(", ");
            (
                format!("jsonb_extract_path_text({column}, {args})"),
                format!("jsonb_typeof(jsonb_extract_path({column}, {args}))"),
                path.to_vec(),
            )
        }
        Backend::Sqlite => {
            // Keys are limited to [A-Za-z0-9_] by the query parser, so quoting is enough.
            let json_path = format!(
                "${}",
                path.iter().map(|k| format!(".\"{k}\"")).collect::<String>()
            );
            (
                format!("json_extract({column}, ${first})"),
                format!(
                    "(CASE json_type({column}, ${first}) WHEN 'text' THEN 'string' \
                     WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' \
                     WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean' \
                     ELSE json_type({column}, ${first}) END)"
                ),
                vec![json_path],
            )
        }
    }
}

/// A JSON number at a path as a float, or NULL when it is not a number.
pub fn json_number(backend: Backend, text: &str, ty: &str) -> String {
    match backend {
        Backend::Postgres => {
            format!("(CASE WHEN {ty} = 'number' THEN CAST({text} AS double precision) END)")
        }
        Backend::Sqlite => format!("(CASE WHEN {ty} = 'number' THEN {text} END)"),
    }
}

/// A JSON boolean at a path compared with a constant.
pub fn json_bool_is(backend: Backend, text: &str, ty: &str, value: bool) -> String {
    match backend {
        Backend::Postgres => format!("({ty} = 'boolean' AND {text} = '{value}')"),
        Backend::Sqlite => format!("({ty} = 'boolean' AND {text} = {})", i32::from(value)),
    }
}

/// The last `n` (a bound parameter) characters of a string.
pub fn suffix(backend: Backend, text: &str, n_param: &str) -> String {
    match backend {
        Backend::Postgres => format!("right({text}, CAST({n_param} AS integer))"),
        Backend::Sqlite => format!("substr({text}, -{n_param})"),
    }
}

/// Position of a substring (0 when absent).
pub fn position(backend: Backend, text: &str, needle_param: &str) -> String {
    match backend {
        Backend::Postgres => format!("strpos({text}, {needle_param})"),
        Backend::Sqlite => format!("instr({text}, {needle_param})"),
    }
}

/// `entries e` for a query whose candidates come from the field index (`e.seq IN (…)`).
/// SQLite is told to drive from the `seq` index: without it the planner may walk a listing
/// index over every entry of the content type and test each against the candidate set.
/// The integers of a JSON array of numbers bound at `param`, as a one-column SELECT.
pub fn int_list(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "SELECT CAST(x AS bigint) FROM jsonb_array_elements_text(CAST({param} AS jsonb)) AS j(x)"
        ),
        Backend::Sqlite => format!("SELECT value FROM json_each({param})"),
    }
}

pub fn entries_by_seq(backend: Backend) -> String {
    match backend {
        Backend::Postgres => "entries e".into(),
        Backend::Sqlite => "entries e INDEXED BY entries_seq".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_locks_rows_and_sqlite_takes_the_writer_lock_up_front() {
        assert_eq!(for_update(Backend::Postgres), " FOR UPDATE");
        assert_eq!(for_update(Backend::Sqlite), "");
        assert_eq!(begin_write(Backend::Sqlite), "BEGIN IMMEDIATE");
    }
}
