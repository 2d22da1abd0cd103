//! SQLite's parameter markers (`?` and `?NNN`) rewritten as PostgreSQL's (`$NNN`), so that
//! one SQL text serves both stores. Hand-written because no crate rewrites between the two:
//! a small scanner that leaves string literals, quoted identifiers and comments alone.

/// Rewrites `sql` for PostgreSQL. A bare `?` takes the number after the highest seen so far,
/// as SQLite numbers it.
pub fn to_postgres(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut highest = 0u32;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        // A doubled quote stays inside the literal.
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'?' => {
                out.push_str(&sql[copied..i]);
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                let number = if end > start {
                    let n: u32 = sql[start..end].parse().unwrap_or(0);
                    highest = highest.max(n);
                    n
                } else {
                    highest += 1;
                    highest
                };
                out.push('$');
                out.push_str(&number.to_string());
                i = end;
                copied = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn numbered_and_bare_markers_become_dollar_numbers() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?2 AND c = ?1 AND d = ?"),
            "SELECT a FROM t WHERE b = $2 AND c = $1 AND d = $3"
        );
        assert_eq!(to_postgres("VALUES (?, ?, ?)"), "VALUES ($1, $2, $3)");
        assert_eq!(to_postgres("LIMIT ?12"), "LIMIT $12");
    }

    #[test]
    fn literals_identifiers_and_comments_are_left_alone() {
        assert_eq!(
            to_postgres("SELECT '?', 'it''s ?', \"a?\" -- why?\nFROM t /* ? */ WHERE x = ?"),
            "SELECT '?', 'it''s ?', \"a?\" -- why?\nFROM t /* ? */ WHERE x = $1"
        );
        assert_eq!(to_postgres("SELECT 'unterminated ?"), "SELECT 'unterminated ?");
    }
}
