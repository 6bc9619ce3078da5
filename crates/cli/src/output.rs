//! Printing responses: readable text by default (nested `key: value`, enums and
//! times in words, money with its decimal point), canonical protobuf JSON with
//! `--json`. Both are driven by the descriptors, so every RPC prints the same way.
use std::fmt::Write;

use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};

pub struct Printer {
    json: bool,
    /// Print only this field (a dotted path), for scripts.
    field: Option<String>,
    pool: DescriptorPool,
}

impl Printer {
    pub fn new(json: bool, field: Option<String>) -> anyhow::Result<Self> {
        Ok(Self { json, field, pool: DescriptorPool::decode(xiaopu_api::FILE_DESCRIPTOR_SET)? })
    }

    /// Prints one response message.
    pub fn print<M: prost::Message + prost::Name>(&self, message: &M) -> anyhow::Result<()> {
        let dynamic = self.dynamic(message)?;
        if let Some(path) = &self.field {
            let value = serde_json::to_value(&dynamic)?;
            let found = pick(&value, path);
            anyhow::ensure!(!found.is_empty() || path.contains('*'), "the response has no field `{path}`");
            for value in found {
                match value {
                    serde_json::Value::String(s) => println!("{s}"),
                    other => println!("{other}"),
                }
            }
        } else if self.json {
            println!("{}", serde_json::to_string_pretty(&dynamic)?);
        } else {
            let mut out = String::new();
            write_message(&mut out, &dynamic, 0);
            print!("{out}");
        }
        Ok(())
    }

    fn dynamic<M: prost::Message + prost::Name>(&self, message: &M) -> anyhow::Result<DynamicMessage> {
        let descriptor = self
            .pool
            .get_message_by_name(&M::full_name())
            .ok_or_else(|| anyhow::anyhow!("no descriptor for {}", M::full_name()))?;
        Ok(DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())?)
    }
}

/// The values at a dotted path such as `shop.shop_id` or `offers.0.product.title`;
/// names may be given in snake_case or the JSON's lowerCamelCase, and `*` stands for
/// every item of a list (`lines.*.batch_line_id` prints one id a line).
fn pick<'v>(value: &'v serde_json::Value, path: &str) -> Vec<&'v serde_json::Value> {
    path.split('.').fold(vec![value], |nodes, part| {
        nodes
            .into_iter()
            .flat_map(|node| match node {
                serde_json::Value::Array(items) if part == "*" => items.iter().collect(),
                serde_json::Value::Array(items) => {
                    part.parse::<usize>().ok().and_then(|i| items.get(i)).into_iter().collect()
                }
                serde_json::Value::Object(map) => {
                    map.get(part).or_else(|| map.get(&lower_camel(part))).into_iter().collect()
                }
                _ => Vec::new(),
            })
            .collect()
    })
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn write_message(out: &mut String, message: &DynamicMessage, depth: usize) {
    for field in message.descriptor().fields() {
        let value = message.get_field(&field);
        if is_empty(&field, &value, message) {
            continue;
        }
        let indent = "  ".repeat(depth);
        match value.as_ref() {
            Value::List(items) => {
                let _ = writeln!(out, "{indent}{}:", field.name());
                for item in items {
                    match item {
                        Value::Message(m) if !is_inline(m) => {
                            let _ = writeln!(out, "{indent}  -");
                            write_message(out, m, depth + 2);
                        }
                        other => {
                            let _ = writeln!(out, "{indent}  - {}", scalar(&field, other));
                        }
                    }
                }
            }
            Value::Map(map) => {
                let _ = writeln!(out, "{indent}{}:", field.name());
                for (key, value) in map {
                    let key = match key {
                        MapKey::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    let _ = writeln!(out, "{indent}  {key}: {}", scalar(&field, value));
                }
            }
            Value::Message(m) if !is_inline(m) => {
                let _ = writeln!(out, "{indent}{}:", field.name());
                write_message(out, m, depth + 1);
            }
            other => {
                let _ = writeln!(out, "{indent}{}: {}", field.name(), scalar(&field, other));
            }
        }
    }
}

fn is_empty(field: &FieldDescriptor, value: &Value, message: &DynamicMessage) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Message(_) => !message.has_field(field),
        Value::EnumNumber(0) => true,
        _ => false,
    }
}

/// Messages printed on one line: timestamps and money.
fn is_inline(message: &DynamicMessage) -> bool {
    matches!(message.descriptor().full_name(), "google.protobuf.Timestamp" | "xiaopu.type.v1.Money")
}

fn scalar(field: &FieldDescriptor, value: &Value) -> String {
    match value {
        Value::EnumNumber(n) => match field.kind() {
            Kind::Enum(e) => e.get_value(*n).map_or_else(|| n.to_string(), |v| enum_word(e.name(), v.name())),
            _ => n.to_string(),
        },
        Value::Message(m) if m.descriptor().full_name() == "google.protobuf.Timestamp" => timestamp(m),
        Value::Message(m) if m.descriptor().full_name() == "xiaopu.type.v1.Money" => money(m),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::Bytes(b) => format!("{} bytes", b.len()),
        other => format!("{other:?}"),
    }
}

/// `DECISION_REASON_SCORE_STALE` of enum `DecisionReason` reads `score_stale`.
fn enum_word(enum_name: &str, value_name: &str) -> String {
    let mut prefix = String::new();
    for (i, c) in enum_name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            prefix.push('_');
        }
        prefix.push(c.to_ascii_uppercase());
    }
    prefix.push('_');
    value_name.strip_prefix(&prefix).unwrap_or(value_name).to_lowercase()
}

fn timestamp(m: &DynamicMessage) -> String {
    let seconds = m.get_field_by_name("seconds").and_then(|v| v.as_i64()).unwrap_or(0);
    let nanos = m.get_field_by_name("nanos").and_then(|v| v.as_i32()).unwrap_or(0);
    chrono::DateTime::from_timestamp(seconds, u32::try_from(nanos).unwrap_or(0))
        .map_or_else(|| format!("{seconds}s"), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn money(m: &DynamicMessage) -> String {
    let minor = m.get_field_by_name("minor_units").and_then(|v| v.as_i64()).unwrap_or(0);
    let currency = m.get_field_by_name("currency").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    format_money(minor, &currency)
}

/// `19900 CNY` reads `199.00 CNY`.
pub fn format_money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", xiaopu_money::to_decimal(minor, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_words_drop_the_prefix() {
        assert_eq!(enum_word("DecisionReason", "DECISION_REASON_SCORE_STALE"), "score_stale");
        assert_eq!(enum_word("PromoterStatus", "PROMOTER_STATUS_APPROVED"), "approved");
    }

    #[test]
    fn money_keeps_every_fen() {
        assert_eq!(format_money(19900, "CNY"), "199.00 CNY");
        assert_eq!(format_money(-5, "CNY"), "-0.05 CNY");
        assert_eq!(format_money(1094, "CNY"), "10.94 CNY");
        assert_eq!(format_money(500, "JPY"), "500 JPY");
    }

    #[test]
    fn responses_print_readably_and_as_json() {
        let printer = Printer::new(false, None).expect("descriptors");
        let decision = xiaopu_api::eligibility::Decision {
            eligible: false,
            reason: xiaopu_api::eligibility::DecisionReason::ScoreNotAboveThreshold.into(),
            score: 690,
            ..Default::default()
        };
        let mut out = String::new();
        write_message(&mut out, &printer.dynamic(&decision).expect("dynamic"), 0);
        assert!(out.contains("eligible: false"), "{out}");
        assert!(out.contains("reason: score_not_above_threshold"), "{out}");
        let json = serde_json::to_value(printer.dynamic(&decision).expect("dynamic")).expect("json");
        assert_eq!(json["reason"], "DECISION_REASON_SCORE_NOT_ABOVE_THRESHOLD");
        assert_eq!(json["score"], 690);
        assert_eq!(pick(&json, "reason"), vec![&serde_json::json!("DECISION_REASON_SCORE_NOT_ABOVE_THRESHOLD")]);
    }

    #[test]
    fn fields_are_picked_by_snake_or_camel_path() {
        let value = serde_json::json!({
            "shop": {"shopId": "s1"},
            "offers": [{"product": {"title": "Tea"}}, {"product": {"title": "Pot"}}],
        });
        assert_eq!(pick(&value, "shop.shop_id"), vec![&serde_json::json!("s1")]);
        assert_eq!(pick(&value, "offers.0.product.title"), vec![&serde_json::json!("Tea")]);
        assert!(pick(&value, "shop.missing").is_empty());
        let titles = pick(&value, "offers.*.product.title");
        assert_eq!(titles, vec![&serde_json::json!("Tea"), &serde_json::json!("Pot")]);
        assert!(pick(&value, "shop.*").is_empty(), "`*` only walks lists");
    }
}
