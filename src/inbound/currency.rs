//! ISO 4217 currency codes.

use std::fmt;
use std::str::FromStr;

/// Active ISO 4217 alphabetic codes ("List One"), sorted for binary search.
///
/// Source: the ISO 4217 list published 2024-06-25 plus amendment 176 (XCG,
/// the Caribbean guilder, from 2025-03-31). ANG and BGN stay while they are
/// being phased out, so senders that have not switched yet are not rejected.
/// Fund and precious-metal codes (BOV, CLF, XAU, XDR, …) are on the list and
/// kept; only the test code XTS and "no currency" XXX are left out, as they
/// can never price a conversion.
pub const ISO_4217_ACTIVE: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", //
    "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", //
    "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", //
    "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", //
    "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", //
    "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", //
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", //
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", //
    "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", //
    "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", //
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", //
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", //
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", //
    "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", //
    "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// An active ISO 4217 code, always upper-case. Holds a reference into
/// [`ISO_4217_ACTIVE`], so it is `Copy` and `as_str` is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Currency(&'static str);

/// The input is not an active ISO 4217 alphabetic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCurrency;

impl fmt::Display for UnknownCurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("currency must be an ISO 4217 code such as USD")
    }
}

impl std::error::Error for UnknownCurrency {}

impl Currency {
    /// Accepts an active code in any letter case, with surrounding
    /// whitespace tolerated.
    pub fn parse(input: &str) -> Result<Currency, UnknownCurrency> {
        let bytes = input.trim().as_bytes();
        let [a, b, c] = bytes else {
            return Err(UnknownCurrency);
        };
        let upper = [a.to_ascii_uppercase(), b.to_ascii_uppercase(), c.to_ascii_uppercase()];
        ISO_4217_ACTIVE
            .binary_search_by(|code| code.as_bytes().cmp(&upper[..]))
            .ok()
            .and_then(|i| ISO_4217_ACTIVE.get(i))
            .map(|code| Currency(code))
            .ok_or(UnknownCurrency)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_unique_and_well_formed() {
        assert!(ISO_4217_ACTIVE.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_4217_ACTIVE.iter().all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
        assert!((170..=190).contains(&ISO_4217_ACTIVE.len()));
    }

    #[test]
    fn accepts_common_codes_in_any_case() {
        for code in [
            "USD", "EUR", "GBP", "JPY", "CHF", "BRL", "INR", "ZAR", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "AUD",
            "CAD", "NZD", "MXN", "SGD", "HKD", "CNY", "KRW", "AED", "ZWG", "XCG", "SLE", "VES",
        ] {
            assert_eq!(Currency::parse(code).map(|c| c.as_str()), Ok(code));
            let lower = code.to_ascii_lowercase();
            assert_eq!(Currency::parse(&lower).map(|c| c.as_str()), Ok(code));
        }
        assert_eq!(Currency::parse(" eUr ").map(|c| c.to_string()), Ok("EUR".into()));
        assert_eq!("usd".parse::<Currency>().map(|c| c.as_str()), Ok("USD"));
    }

    #[test]
    fn every_listed_code_parses() {
        for code in ISO_4217_ACTIVE {
            assert_eq!(Currency::parse(code).map(|c| c.as_str()), Ok(*code));
        }
    }

    #[test]
    fn rejects_unknown_test_and_withdrawn_codes() {
        for input in [
            "",
            "   ",
            "US",
            "USDD",
            "XXX",
            "XTS",
            "xts",
            "ABC",
            "HRK",
            "VEF",
            "SLL",
            "ZWL",
            "DEM",
            "US D",
            "U\u{0}D",
            "ÜSD",
            "１２３",
            "€",
            "usd\u{0}",
        ] {
            assert_eq!(Currency::parse(input), Err(UnknownCurrency), "{input:?}");
        }
    }

    #[test]
    fn serializes_as_code() {
        let c = Currency::parse("gbp").expect("valid");
        assert_eq!(serde_json::to_string(&c).expect("json"), "\"GBP\"");
    }
}
