//! No person identifiers in payloads (MedMij OAUTH-16): a guard for the FHIR JSON that travels
//! between the gateways.
//!
//! The sender leaves BSN elements empty ([`strip`]); a receiver refuses a payload that still
//! carries one ([`check`]: the PGO GW does not store it, a Lezer answers OAUTH-12 case 8) and
//! logs the refusal. Sans-IO: the functions take a parsed [`serde_json::Value`] (or the raw
//! bytes, [`parse_and_check`]) and never panic.
//!
//! # What counts as a BSN
//!
//! Anywhere in a resource or a Bundle, at any depth up to [`MAX_DEPTH`], an *identifier* is an
//! object that is the value, or an element of the array value, of a key named `identifier` or
//! ending in `Identifier` (`valueIdentifier` in an extension, `patternIdentifier`, …). An
//! identifier is a finding ([`BsnFinding`]) when it has a `value` (not `null`) and
//!
//! - its `system` is one of [`BSN_SYSTEMS`] ([`BsnFindingKind::BsnSystem`]), or
//! - its `value` is nine digits that pass the elfproef, the Dutch 11-test ([`elfproef`];
//!   [`BsnFindingKind::ElfproefValue`]), whatever its `system`.
//!
//! An identifier with a BSN `system` and no `value` is the "empty BSN element" the rule asks
//! for and is not a finding. Nine digits elsewhere (a phone number in `telecom`, a text) are
//! not identifiers and are never reported.
//!
//! ```
//! use medmij_oauth::fhir;
//! let mut patient = serde_json::json!({
//!     "resourceType": "Patient",
//!     "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "123456782"}],
//! });
//! let err = fhir::check(&patient).unwrap_err();
//! assert_eq!(err.rule(), medmij_types::RuleId::Oauth16);
//! let stripped = fhir::strip(&mut patient).unwrap();
//! assert_eq!(stripped[0].path.to_string(), "$.identifier[0]");
//! assert!(fhir::check(&patient).is_ok());
//! assert_eq!(patient["identifier"][0]["system"], "http://fhir.nl/fhir/NamingSystem/bsn");
//! ```

use std::fmt;

use serde_json::Value;

/// The rule this module enforces, as the rulebook writes it.
pub const RULE: medmij_types::RuleId = medmij_types::RuleId::Oauth16;

/// The identifier systems that name a BSN (MedMij OAUTH-16): the FHIR NamingSystem URI and the
/// OID of the BSN.
pub const BSN_SYSTEMS: [&str; 2] = [
    "http://fhir.nl/fhir/NamingSystem/bsn",
    "urn:oid:2.16.840.1.113883.2.4.6.3",
];

/// The deepest nesting of objects and arrays the guard walks. A payload that nests deeper is
/// refused ([`FhirError::TooDeep`]): the guard cannot show that it carries no BSN. FHIR
/// resources, even Bundles with contained resources, stay far below it.
pub const MAX_DEPTH: usize = 64;

/// Whether `s` is nine ASCII digits that pass the elfproef (the Dutch 11-test of a BSN):
/// 9·d1 + 8·d2 + 7·d3 + 6·d4 + 5·d5 + 4·d6 + 3·d7 + 2·d8 − 1·d9 is a multiple of 11
/// (`000000000` excepted).
pub fn elfproef(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum: i32 = 0;
    for (i, d) in b.iter().enumerate() {
        let d = i32::from(d - b'0');
        sum += if i == 8 { -d } else { (9 - i as i32) * d };
    }
    b != b"000000000" && sum % 11 == 0
}

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// Where in the payload something was found, printed as `$.entry[0].resource.identifier[1]`
/// (keys that are not plain words are quoted: `$["a b"]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct JsonPath(pub Vec<PathSegment>);

impl JsonPath {
    /// The segments, from the root.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for seg in &self.0 {
            match seg {
                PathSegment::Index(i) => write!(f, "[{i}]")?,
                PathSegment::Key(k)
                    if !k.is_empty()
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    write!(f, ".{k}")?
                }
                PathSegment::Key(k) => write!(f, "[{}]", Value::String(k.clone()))?,
            }
        }
        Ok(())
    }
}

/// Why an identifier counts as a BSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BsnFindingKind {
    /// Its `system` is one of [`BSN_SYSTEMS`] and it has a `value`.
    BsnSystem,
    /// Its `value` is nine digits passing the [`elfproef`] (its `system` is something else or
    /// absent).
    ElfproefValue,
}

/// A BSN identifier in a payload (MedMij OAUTH-16). It never holds the number itself (LOG-4):
/// only where it is and why it counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BsnFinding {
    /// Path of the identifier object, e.g. `$.entry[0].resource.identifier[0]`.
    pub path: JsonPath,
    /// Why it counts as a BSN.
    pub kind: BsnFindingKind,
}

impl fmt::Display for BsnFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BsnFindingKind::BsnSystem => write!(f, "BSN identifier (system) at {}", self.path),
            BsnFindingKind::ElfproefValue => {
                write!(f, "BSN-like identifier value (elfproef) at {}", self.path)
            }
        }
    }
}

/// Why a payload is refused (MedMij OAUTH-16).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The payload carries one or more BSN identifiers (never empty).
    #[error("MedMij OAUTH-16: the payload carries a person identifier: {}", list(.0))]
    BsnFound(Vec<BsnFinding>),
    /// The payload nests deeper than [`MAX_DEPTH`]; it cannot be shown to carry no BSN.
    #[error(
        "MedMij OAUTH-16: the payload nests deeper than {max} levels at {path}; it cannot be checked for a BSN"
    )]
    TooDeep {
        /// The first place found deeper than the limit.
        path: JsonPath,
        /// The limit, [`MAX_DEPTH`].
        max: usize,
    },
    /// The payload is not JSON ([`parse_and_check`] only).
    #[error("MedMij OAUTH-16: the payload is not JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
}

fn list(findings: &[BsnFinding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl FhirError {
    /// The rule broken: always OAUTH-16 ([`RULE`]).
    pub fn rule(&self) -> medmij_types::RuleId {
        RULE
    }

    /// The findings, for [`FhirError::BsnFound`]; empty otherwise.
    pub fn findings(&self) -> &[BsnFinding] {
        match self {
            Self::BsnFound(f) => f,
            _ => &[],
        }
    }
}

fn is_identifier_key(k: &str) -> bool {
    k == "identifier" || k.ends_with("Identifier")
}

fn identifier_kind(obj: &serde_json::Map<String, Value>) -> Option<BsnFindingKind> {
    let value = obj.get("value").filter(|v| !v.is_null())?;
    let system = obj.get("system").and_then(Value::as_str);
    if system.is_some_and(|s| BSN_SYSTEMS.contains(&s)) {
        return Some(BsnFindingKind::BsnSystem);
    }
    let digits = match value {
        Value::String(s) => elfproef(s),
        Value::Number(n) => n.as_u64().is_some_and(|n| elfproef(&format!("{n:09}"))),
        _ => false,
    };
    digits.then_some(BsnFindingKind::ElfproefValue)
}

fn walk(
    v: &Value,
    path: &mut Vec<PathSegment>,
    out: &mut Vec<BsnFinding>,
) -> Result<(), FhirError> {
    // A container at path length L is nesting level L + 1 (the root is level 1).
    if (v.is_object() || v.is_array()) && path.len() >= MAX_DEPTH {
        return Err(FhirError::TooDeep {
            path: JsonPath(path.clone()),
            max: MAX_DEPTH,
        });
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(PathSegment::Key(k.clone()));
                if is_identifier_key(k) {
                    match child {
                        Value::Object(id) => {
                            if let Some(kind) = identifier_kind(id) {
                                out.push(BsnFinding {
                                    path: JsonPath(path.clone()),
                                    kind,
                                });
                            }
                        }
                        Value::Array(items) => {
                            for (i, item) in items.iter().enumerate() {
                                if let Value::Object(id) = item
                                    && let Some(kind) = identifier_kind(id)
                                {
                                    path.push(PathSegment::Index(i));
                                    out.push(BsnFinding {
                                        path: JsonPath(path.clone()),
                                        kind,
                                    });
                                    path.pop();
                                }
                            }
                        }
                        _ => {}
                    }
                }
                walk(child, path, out)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                walk(item, path, out)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every BSN identifier in `payload` (a resource, a Bundle, or any JSON), in document order.
/// Errors only when the payload nests deeper than [`MAX_DEPTH`].
pub fn find_bsn(payload: &Value) -> Result<Vec<BsnFinding>, FhirError> {
    let mut out = Vec::new();
    walk(payload, &mut Vec::new(), &mut out)?;
    Ok(out)
}

/// The receiver's check (MedMij OAUTH-16): `Ok` when `payload` carries no BSN identifier;
/// otherwise [`FhirError::BsnFound`] with every finding (or [`FhirError::TooDeep`]). The
/// caller refuses the payload (the PGO GW does not store it, a Lezer answers OAUTH-12 case 8)
/// and logs the refusal.
pub fn check(payload: &Value) -> Result<(), FhirError> {
    let findings = find_bsn(payload)?;
    if findings.is_empty() {
        Ok(())
    } else {
        Err(FhirError::BsnFound(findings))
    }
}

/// Parses `bytes` as JSON and [`check`]s it; returns the parsed payload when it carries no BSN.
pub fn parse_and_check(bytes: &[u8]) -> Result<Value, FhirError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| FhirError::NotJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    check(&value)?;
    Ok(value)
}

fn at_path<'a>(v: &'a mut Value, path: &[PathSegment]) -> Option<&'a mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match (first, v) {
        (PathSegment::Key(k), Value::Object(m)) => m.get_mut(k)?,
        (PathSegment::Index(i), Value::Array(a)) => a.get_mut(*i)?,
        _ => return None,
    };
    at_path(next, rest)
}

/// The sender's duty (MedMij OAUTH-16): leaves every BSN element empty by removing the `value`
/// of each identifier [`find_bsn`] reports (its `system` and other fields stay, so the element
/// is still there, empty). Returns what it emptied; afterwards [`find_bsn`] finds nothing.
/// On [`FhirError::TooDeep`] the payload is left unchanged.
pub fn strip(payload: &mut Value) -> Result<Vec<BsnFinding>, FhirError> {
    let findings = find_bsn(payload)?;
    for finding in &findings {
        // Always found for paths find_bsn produced on this very value; kept total.
        if let Some(Value::Object(id)) = at_path(payload, finding.path.segments()) {
            id.remove("value");
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display() {
        let p = JsonPath(vec![
            PathSegment::Key("entry".into()),
            PathSegment::Index(3),
            PathSegment::Key("a b".into()),
        ]);
        assert_eq!(p.to_string(), r#"$.entry[3]["a b"]"#);
    }

    #[test]
    fn not_json_is_typed() {
        let err = parse_and_check(b"{\"a\":").unwrap_err();
        assert!(matches!(err, FhirError::NotJson { line: 1, .. }), "{err}");
        assert_eq!(err.rule(), medmij_types::RuleId::Oauth16);
    }
}

/// MedMij OAUTH-16: the guard finds, strips and refuses BSN identifiers.
#[cfg(test)]
mod oauth_16 {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, json};

    #[test]
    fn elfproef_known_numbers() {
        for valid in [
            "111222333",
            "123456782",
            "999999990",
            "100000009",
            "100000010",
            "012345672",
        ] {
            assert!(elfproef(valid), "{valid} is a valid BSN");
        }
        for invalid in [
            "123456789",
            "111222334",
            "000000000",
            "12345678",
            "1234567820",
            "12345678a",
            "１23456782",
            "",
            " 23456782",
        ] {
            assert!(!elfproef(invalid), "{invalid:?} is no BSN");
        }
    }

    #[test]
    fn finds_in_bundle_at_depth_with_paths() {
        let bundle = json!({
            "resourceType": "Bundle",
            "entry": [
                {"resource": {"resourceType": "Observation",
                              "subject": {"identifier": {"system": "urn:oid:2.16.840.1.113883.2.4.6.3",
                                                         "value": "999999990"}}}},
                {"resource": {"resourceType": "Patient",
                              "telecom": [{"system": "phone", "value": "123456782"}],
                              "identifier": [{"system": "urn:oid:1.2.3", "value": "x"},
                                             {"system": "urn:other", "value": "123456782"}]}},
            ]
        });
        let f = find_bsn(&bundle).unwrap();
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].path.to_string(),
            "$.entry[0].resource.subject.identifier"
        );
        assert_eq!(f[0].kind, BsnFindingKind::BsnSystem);
        assert_eq!(f[1].path.to_string(), "$.entry[1].resource.identifier[1]");
        assert_eq!(f[1].kind, BsnFindingKind::ElfproefValue);
        let err = check(&bundle).unwrap_err();
        assert_eq!(err.findings().len(), 2);
        assert!(
            err.to_string()
                .contains("$.entry[1].resource.identifier[1]")
        );
        assert!(
            !err.to_string().contains("123456782"),
            "never the number itself"
        );
    }

    #[test]
    fn empty_bsn_element_and_extension_identifier() {
        let ok = json!({"identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn"}]});
        assert!(check(&ok).is_ok());
        let null = json!({"identifier": {"system": BSN_SYSTEMS[0], "value": null}});
        assert!(check(&null).is_ok());
        let ext = json!({"extension": [{"url": "x", "valueIdentifier":
                          {"system": BSN_SYSTEMS[1], "value": "1"}}]});
        assert_eq!(
            find_bsn(&ext).unwrap()[0].path.to_string(),
            "$.extension[0].valueIdentifier"
        );
        let number = json!({"identifier": {"value": 12345672}});
        assert_eq!(
            find_bsn(&number).unwrap()[0].kind,
            BsnFindingKind::ElfproefValue
        );
    }

    #[test]
    fn too_deep_is_refused_and_strip_changes_nothing() {
        // Levels: the wrappers, the object, the identifier object.
        let mut v = json!({"identifier": {"system": BSN_SYSTEMS[0], "value": "123456782"}});
        for _ in 0..MAX_DEPTH - 1 {
            v = json!([v]);
        }
        let before = v.clone();
        assert!(matches!(
            check(&v),
            Err(FhirError::TooDeep { max: MAX_DEPTH, .. })
        ));
        assert!(strip(&mut v).is_err());
        assert_eq!(v, before);
        // Just within the limit: found.
        let mut w = json!({"identifier": {"system": BSN_SYSTEMS[0], "value": "123456782"}});
        for _ in 0..MAX_DEPTH - 2 {
            w = json!([w]);
        }
        assert_eq!(find_bsn(&w).unwrap().len(), 1);
    }

    #[test]
    fn deeply_nested_bytes_never_panic() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse_and_check(deep.as_bytes()),
            Err(FhirError::NotJson { .. })
        ));
    }

    // --- generators ---------------------------------------------------------------------

    fn bsn() -> impl Strategy<Value = String> {
        (1u32..99_999_999).prop_filter_map("passes the elfproef", |n| {
            // Choose the last digit so that the 11-test holds, if one exists.
            let head = format!("{n:08}");
            (0..10).map(|d| format!("{head}{d}")).find(|s| elfproef(s))
        })
    }

    fn not_bsn_value() -> impl Strategy<Value = String> {
        prop_oneof!["[A-Za-z0-9.-]{0,12}", "[0-9]{9}", "[0-9]{8}", "[0-9]{10}",]
            .prop_filter("no elfproef", |s| !elfproef(s))
    }

    fn other_system() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("urn:oid:2.16.528.1.1007.3.1".to_string()),
            Just("http://fhir.nl/fhir/NamingSystem/agb-z".to_string()),
            "urn:oid:[0-9.]{1,20}",
        ]
        .prop_filter("not a BSN system", |s| !BSN_SYSTEMS.contains(&s.as_str()))
    }

    fn clean_identifier() -> impl Strategy<Value = Value> {
        (other_system(), not_bsn_value()).prop_map(|(s, v)| json!({"system": s, "value": v}))
    }

    /// A JSON tree without any BSN identifier, but with BSN-looking numbers where they are
    /// not identifiers (texts, telecom), and empty BSN elements.
    fn clean_tree() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-z ]{0,10}".prop_map(Value::String),
            bsn().prop_map(|b| json!({"system": "phone", "value": b})),
            bsn().prop_map(|b| json!({"text": b})),
            Just(json!({"identifier": {"system": BSN_SYSTEMS[0]}})),
            clean_identifier().prop_map(|id| json!({"identifier": [id]})),
        ];
        leaf.prop_recursive(8, 64, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,8}", inner.clone()), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
                prop::collection::vec(clean_identifier(), 0..3)
                    .prop_map(|ids| json!({"identifier": ids})),
                inner.prop_map(|r| json!({"resourceType": "Bundle", "entry": [{"resource": r}]})),
            ]
        })
    }

    fn bsn_identifier() -> impl Strategy<Value = Value> {
        prop_oneof![
            (0usize..2, bsn()).prop_map(|(i, b)| json!({"system": BSN_SYSTEMS[i], "value": b})),
            (0usize..2, not_bsn_value())
                .prop_map(|(i, v)| json!({"system": BSN_SYSTEMS[i], "value": v})),
            (other_system(), bsn()).prop_map(|(s, b)| json!({"system": s, "value": b})),
            bsn().prop_map(|b| json!({"value": b})),
        ]
    }

    /// Puts `id` into `tree` at a random depth (the path given by `choices`), as an
    /// `identifier` object or an element of an `identifier` array.
    fn plant(tree: &mut Value, id: Value, choices: &[usize], as_array: bool) {
        let mut at = tree;
        for &c in choices {
            let next_index = match &*at {
                Value::Array(a) if !a.is_empty() => Some(c % a.len()),
                _ => None,
            };
            let next_key = match &*at {
                Value::Object(m) if !m.is_empty() => m.keys().nth(c % m.len()).cloned(),
                _ => None,
            };
            at = match (next_index, next_key) {
                (Some(i), _) => &mut at.as_array_mut().unwrap()[i],
                (_, Some(k)) => at.as_object_mut().unwrap().get_mut(&k).unwrap(),
                _ => break,
            };
        }
        let planted = if as_array { json!([id]) } else { id };
        match at {
            Value::Object(m) => {
                m.insert("identifier".into(), planted);
            }
            Value::Array(a) => a.push(json!({"identifier": planted})),
            other => *other = json!({"identifier": planted}),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn no_false_positive(tree in clean_tree()) {
            prop_assert_eq!(find_bsn(&tree).unwrap(), vec![]);
            prop_assert!(check(&tree).is_ok());
            let mut copy = tree.clone();
            prop_assert!(strip(&mut copy).unwrap().is_empty());
            prop_assert_eq!(copy, tree);
        }

        #[test]
        fn planted_bsn_is_found_and_stripped(
            mut tree in clean_tree(),
            id in bsn_identifier(),
            choices in prop::collection::vec(any::<usize>(), 0..10),
            as_array in any::<bool>(),
        ) {
            plant(&mut tree, id, &choices, as_array);
            let found = find_bsn(&tree).unwrap();
            prop_assert_eq!(found.len(), 1, "{:?}", found);
            prop_assert!(check(&tree).is_err());
            let mut stripped = tree.clone();
            let removed = strip(&mut stripped).unwrap();
            prop_assert_eq!(removed, found);
            prop_assert_eq!(find_bsn(&stripped).unwrap(), vec![]);
            prop_assert!(check(&stripped).is_ok());
            // Round trip through text: still clean.
            let text = serde_json::to_vec(&stripped).unwrap();
            prop_assert!(parse_and_check(&text).is_ok());
        }

        #[test]
        fn any_json_never_panics(tree in clean_tree(), ids in prop::collection::vec(bsn_identifier(), 0..4),
                                 choices in prop::collection::vec(any::<usize>(), 0..10)) {
            let mut tree = tree;
            for id in ids { plant(&mut tree, id, &choices, true); }
            let mut s = tree.clone();
            let _ = strip(&mut s);
            prop_assert!(check(&s).is_ok());
        }
    }
}
