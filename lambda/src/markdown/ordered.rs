//! JSON in the order its author wrote it, for the payloads we show as a
//! field list. `serde_json::Value` sorts object keys, which puts an ECS
//! task's `stoppedReason` on line 75 of 80; serde_json's `preserve_order`
//! feature would fix that but changes every map in the workspace (request
//! bodies, the compact template), so a payload shown generically is read
//! once more into this small tree instead.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    /// `null`, a boolean, a number or a string.
    Scalar(Value),
    Array(Vec<Ordered>),
    /// Keys in the payload's order (a repeated key keeps both, as written).
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// `None` for text that is not JSON.
    pub fn parse(text: &str) -> Option<Ordered> {
        serde_json::from_str(text).ok()
    }

    /// A tree from a parsed `Value` (keys sorted, the order is lost).
    pub fn from_value(v: &Value) -> Ordered {
        match v {
            Value::Array(items) => Ordered::Array(items.iter().map(Ordered::from_value).collect()),
            Value::Object(map) => Ordered::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Ordered::from_value(v)))
                    .collect(),
            ),
            scalar => Ordered::Scalar(scalar.clone()),
        }
    }

    /// The first value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Ordered::Scalar(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn is_empty_container(&self) -> bool {
        match self {
            Ordered::Array(a) => a.is_empty(),
            Ordered::Object(o) => o.is_empty(),
            Ordered::Scalar(_) => false,
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::String(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
            entries.push((k, v));
        }
        Ok(Ordered::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_payloads_key_order() {
        let o = Ordered::parse(r#"{"z": 1, "a": [true, null, {"y": "s", "b": 2.5}]}"#).unwrap();
        assert_eq!(
            o,
            Ordered::Object(vec![
                ("z".into(), Ordered::Scalar(json!(1))),
                (
                    "a".into(),
                    Ordered::Array(vec![
                        Ordered::Scalar(json!(true)),
                        Ordered::Scalar(Value::Null),
                        Ordered::Object(vec![
                            ("y".into(), Ordered::Scalar(json!("s"))),
                            ("b".into(), Ordered::Scalar(json!(2.5))),
                        ]),
                    ])
                ),
            ])
        );
        assert_eq!(o.get("z"), Some(&Ordered::Scalar(json!(1))));
        assert_eq!(Ordered::parse("not json"), None);
    }
}
