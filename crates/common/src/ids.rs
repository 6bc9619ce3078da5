//! The ids of the system's people, as types: a promoter's id and a supplier's id are
//! both strings (the identity provider's subjects), and a function taking both must
//! not be handed them the wrong way round. Each is checked once, where it enters
//! (`validate::id` on a request, the token's `sub`), and travels typed from there;
//! the store binds it as text.
use std::fmt;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A promoter: the person who runs a shop and earns commission.
    PromoterId
);
id_type!(
    /// A supplier: who lists products and pays commission on them.
    SupplierId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_back_as_it_was_given() {
        let promoter = PromoterId::new("p-1");
        assert_eq!(promoter.as_str(), "p-1");
        assert_eq!(promoter.to_string(), "p-1");
        assert_eq!(SupplierId::new(String::from("s")).into_string(), "s");
    }
}
