//! Hyperparameters declared once: [`hyperparameters!`] turns one line per parameter (its
//! SageMaker key, field, type, default and the rule a value must meet) into the parameter
//! struct, its [`Default`], its sorted key list and its [`Hyperparameters`] implementation
//! (reading SageMaker's string map, checking the rules, writing the map back).
//!
//! How a value parses from and prints to SageMaker's strings follows from its type ([`Value`]).

use std::collections::BTreeMap;

use super::{EvalMetric, FeatureFraction, Objective, SplitQuality};
use crate::error::{Error, Result};

/// What [`hyperparameters!`] derives for an algorithm's parameter struct.
pub(crate) trait Hyperparameters {
    /// Reads every declared key present in `map` (trimmed) over the current values; the first
    /// value that does not parse is an error naming the key, the value and what is accepted.
    fn read(&mut self, map: &BTreeMap<String, String>) -> Result<()>;

    /// Checks every declared rule, in declaration order; the first value out of range is an
    /// error naming the key, the value and the accepted range.
    fn check(&self) -> Result<()>;

    /// Writes every parameter into `map` under its key, as [`read`](Self::read) reads it back.
    fn write(&self, map: &mut BTreeMap<String, String>);
}

/// A hyperparameter's type: how it parses from and prints to SageMaker's strings.
pub(crate) trait Value: Copy {
    /// What a string must be to parse, for errors (`"a finite number"`).
    const EXPECTED: &'static str;

    /// Parses a trimmed string.
    fn parse(s: &str) -> Option<Self>;

    /// The string [`parse`](Self::parse) reads back; also how a range error shows the value.
    fn write(self) -> String;
}

impl Value for f64 {
    const EXPECTED: &'static str = "a finite number";

    fn parse(s: &str) -> Option<Self> {
        s.parse::<Self>().ok().filter(|v| v.is_finite())
    }

    fn write(self) -> String {
        self.to_string()
    }
}

macro_rules! unsigned_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const EXPECTED: &'static str = "an unsigned integer";

            fn parse(s: &str) -> Option<Self> {
                s.parse::<Self>().ok()
            }

            fn write(self) -> String {
                self.to_string()
            }
        }
    )*};
}

unsigned_value!(u64, usize);

impl Value for bool {
    const EXPECTED: &'static str = "true or false";

    fn parse(s: &str) -> Option<Self> {
        [true, false].into_iter().find(|b| s.eq_ignore_ascii_case(&b.to_string()))
    }

    fn write(self) -> String {
        self.to_string()
    }
}

impl Value for SplitQuality {
    const EXPECTED: &'static str = "gini, entropy or squared_error";

    fn parse(s: &str) -> Option<Self> {
        [Self::Gini, Self::Entropy, Self::SquaredError].into_iter().find(|q| s.eq_ignore_ascii_case(q.name()))
    }

    fn write(self) -> String {
        self.name().to_owned()
    }
}

impl Value for FeatureFraction {
    const EXPECTED: &'static str = "sqrt or a finite number";

    fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("sqrt") { Some(Self::Sqrt) } else { f64::parse(s).map(Self::Fraction) }
    }

    fn write(self) -> String {
        match self {
            Self::Sqrt => "sqrt".to_owned(),
            Self::Fraction(f) => f.write(),
        }
    }
}

impl Value for Objective {
    const EXPECTED: &'static str = "binary:logistic, multi:softprob, multi:softmax or reg:squarederror";

    fn parse(s: &str) -> Option<Self> {
        Self::parse(s)
    }

    fn write(self) -> String {
        self.name().to_owned()
    }
}

impl Value for EvalMetric {
    const EXPECTED: &'static str = "rmse, mae, logloss, error, auc, mlogloss or merror";

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    fn write(self) -> String {
        self.name().to_owned()
    }
}

/// Parses `map[key]` into `slot` when present.
pub(crate) fn read<T: Value>(map: &BTreeMap<String, String>, key: &str, slot: &mut T) -> Result<()> {
    if let Some(raw) = map.get(key) {
        *slot = T::parse(raw.trim())
            .ok_or_else(|| Error::hyperparameter(key, format!("{raw:?} is not {}", T::EXPECTED)))?;
    }
    Ok(())
}

/// Checks `value` of `key` against its rule; `expected` describes the accepted range.
pub(crate) fn accept<T: Value>(key: &str, value: T, ok: fn(T) -> bool, expected: &str) -> Result<()> {
    if ok(value) {
        Ok(())
    } else {
        Err(Error::hyperparameter(key, format!("{} is out of range: expected {expected}", value.write())))
    }
}

/// The keys sorted (at compile time); a key declared twice fails the build.
pub(crate) const fn sorted<const N: usize>(mut keys: [&'static str; N]) -> [&'static str; N] {
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && before(keys[j], keys[j - 1]) {
            keys.swap(j, j - 1);
            j -= 1;
        }
        assert!(j == 0 || before(keys[j - 1], keys[j]), "a hyperparameter key is declared twice");
        i += 1;
    }
    keys
}

/// Whether `a` sorts strictly before `b` (byte order, as [`str`]'s `Ord`).
const fn before(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// Declares an algorithm's hyperparameters, one line each:
///
/// ```text
/// /// doc of the field
/// "key" field: Type = default, accepts |v| rule(v) => "what the rule accepts";
/// ```
///
/// The `accepts` part is optional (every parsed value is then valid). The struct gets public
/// fields in declaration order, [`Default`] from the defaults, a `KEYS` constant (sorted) and
/// [`Hyperparameters`]: reading, checking and writing in declaration order.
macro_rules! hyperparameters {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $key:literal $field:ident: $ty:ty = $default:expr
                $(, accepts $ok:expr => $expected:literal)?;
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)+
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $($field: $default),+ }
            }
        }

        impl $name {
            /// The hyperparameter keys, sorted.
            const KEYS: &'static [&'static str] = &$crate::algorithm::params::sorted([$($key),+]);
        }

        impl $crate::algorithm::params::Hyperparameters for $name {
            fn read(&mut self, map: &::std::collections::BTreeMap<String, String>) -> $crate::error::Result<()> {
                $($crate::algorithm::params::read(map, $key, &mut self.$field)?;)+
                Ok(())
            }

            fn check(&self) -> $crate::error::Result<()> {
                $($($crate::algorithm::params::accept($key, self.$field, $ok, $expected)?;)?)+
                Ok(())
            }

            fn write(&self, map: &mut ::std::collections::BTreeMap<String, String>) {
                $(map.insert($key.to_owned(), $crate::algorithm::params::Value::write(self.$field));)+
            }
        }
    };
}

pub(crate) use hyperparameters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_at_compile_time() {
        const KEYS: [&str; 4] = sorted(["seed", "max_depth", "max", "bootstrap_fraction"]);
        assert_eq!(KEYS, ["bootstrap_fraction", "max", "max_depth", "seed"]);
    }

    #[test]
    fn values_read_back_what_they_write() {
        assert_eq!(f64::parse(&1e-12.write()), Some(1e-12));
        assert_eq!(f64::parse("inf"), None);
        assert_eq!(usize::parse(&usize::MAX.write()), Some(usize::MAX));
        assert_eq!(bool::parse("TRUE"), Some(true));
        assert_eq!(SplitQuality::parse(&SplitQuality::Entropy.write()), Some(SplitQuality::Entropy));
    }
}
