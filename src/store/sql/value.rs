//! The values that cross the SQL layer: one dynamically typed [`Value`] (SQLite's five
//! storage classes), what Rust types turn into it ([`ToSql`]) and what they are read back
//! as ([`FromSql`]). Both backends convert to and from it, so a table module binds and reads
//! the same Rust types whichever database is behind the store.

use std::borrow::Cow;

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Integer(_) => "INTEGER",
            Value::Real(_) => "REAL",
            Value::Text(_) => "TEXT",
            Value::Blob(_) => "BLOB",
        }
    }
}

/// A Rust value that can be bound as a statement parameter.
pub trait ToSql {
    /// The value to bind; an error for a value SQL cannot hold (an unsigned integer above
    /// `i64::MAX`).
    fn to_sql(&self) -> Result<Value, String>;
}

/// A Rust type a column can be read as.
pub trait FromSql: Sized {
    /// Converts the column's value; the error says what was found.
    fn from_sql(value: Value) -> Result<Self, String>;
}

fn wrong(want: &str, got: &Value) -> String {
    format!("expected {want}, found {}", got.kind())
}

impl ToSql for Value {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(self.clone())
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Result<Value, String> {
        (**self).to_sql()
    }
}

impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_sql(&self) -> Result<Value, String> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Result<Value, String> {
        match self {
            Some(v) => v.to_sql(),
            None => Ok(Value::Null),
        }
    }
}

impl ToSql for str {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Text(self.to_owned()))
    }
}

impl ToSql for String {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Text(self.clone()))
    }
}

impl ToSql for Cow<'_, str> {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Text(self.to_string()))
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Blob(self.clone()))
    }
}

impl ToSql for bool {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Integer(i64::from(*self)))
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> Result<Value, String> {
        Ok(Value::Real(*self))
    }
}

macro_rules! integer_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Result<Value, String> {
                i64::try_from(*self)
                    .map(Value::Integer)
                    .map_err(|_| format!("{} does not fit a 64-bit SQL integer", self))
            }
        }
        impl FromSql for $t {
            fn from_sql(value: Value) -> Result<Self, String> {
                match value {
                    Value::Integer(i) => <$t>::try_from(i)
                        .map_err(|_| format!("{i} is out of range for {}", stringify!($t))),
                    other => Err(wrong("INTEGER", &other)),
                }
            }
        }
    )*};
}
integer_to_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl FromSql for Value {
    fn from_sql(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

impl FromSql for String {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(wrong("TEXT", &other)),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Blob(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Err(wrong("BLOB", &other)),
        }
    }
}

impl FromSql for bool {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Integer(i) => Ok(i != 0),
            other => Err(wrong("INTEGER", &other)),
        }
    }
}

impl FromSql for f64 {
    fn from_sql(value: Value) -> Result<Self, String> {
        match value {
            Value::Real(f) => Ok(f),
            #[allow(clippy::cast_precision_loss)]
            Value::Integer(i) => Ok(i as f64),
            other => Err(wrong("REAL", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_convert_with_range_checks() {
        assert_eq!(7u32.to_sql(), Ok(Value::Integer(7)));
        assert!(u64::MAX.to_sql().unwrap_err().contains("does not fit"));
        assert_eq!(u8::from_sql(Value::Integer(255)), Ok(255));
        assert!(u8::from_sql(Value::Integer(256)).unwrap_err().contains("out of range"));
        assert_eq!(bool::from_sql(Value::Integer(2)), Ok(true));
        assert!(String::from_sql(Value::Integer(1)).unwrap_err().contains("found INTEGER"));
        assert_eq!(Option::<String>::from_sql(Value::Null), Ok(None));
        assert_eq!(None::<i64>.to_sql(), Ok(Value::Null));
    }
}
