//! The storefront database. Functions take any executor so they run inside the
//! caller's transaction; they speak domain types.
pub mod listing;
pub mod product;
pub mod rate;
pub mod share_link;
pub mod shop;

/// A value the database should never hold.
fn corrupt(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} `{value}` in the database").into())
}

/// Parses a text column into one of the domain's text enums.
fn parse<T>(column: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(value).ok_or_else(|| corrupt(column, value))
}
