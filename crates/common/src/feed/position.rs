//! A position in a producer's outbox: `(xid, seq)`, the order rows are served in.
use std::fmt;

use crate::error::FieldViolation;

/// After the row with transaction id `xid` and sequence `seq`. Rendered as an opaque
/// cursor string (`"<xid>.<seq>"`); the empty cursor is the start of the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub xid: i64,
    pub seq: i64,
}

impl Position {
    pub const START: Position = Position { xid: 0, seq: 0 };

    pub fn parse(cursor: &str) -> Result<Self, FieldViolation> {
        if cursor.is_empty() {
            return Ok(Self::START);
        }
        let bad = || FieldViolation::new("after", "is not a cursor from this feed");
        let (xid, seq) = cursor.split_once('.').ok_or_else(bad)?;
        let xid: i64 = xid.parse().map_err(|_| bad())?;
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        if xid < 0 || seq < 0 {
            return Err(bad());
        }
        Ok(Self { xid, seq })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::START { Ok(()) } else { write!(f, "{}.{}", self.xid, self.seq) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_is_refused() {
        let p = Position { xid: 812, seq: 77 };
        assert_eq!(Position::parse(&p.to_string()), Ok(p));
        assert_eq!(Position::parse(""), Ok(Position::START));
        assert!(Position::parse("12").is_err());
        assert!(Position::parse("a.b").is_err());
        assert!(Position::parse("-1.3").is_err());
        assert!(Position { xid: 2, seq: 1 } > Position { xid: 1, seq: 9 });
    }
}
