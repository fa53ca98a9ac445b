//! The configuration's JSON read field by field: typed getters that name the
//! field's path in their errors, and unknown fields refused.
//!
//! The configuration is parsed once, so this trades serde's derived
//! visitors (tens of KB of `.wasm` for a cold path) for the `Value` parser
//! the request path already ships.

use serde_json::{Map, Value};

/// A JSON object of the configuration, its fields taken one by one.
pub struct Fields {
    map: Map<String, Value>,
    path: String,
}

impl Fields {
    /// `value` as an object at `path` whose keys are all in `known`.
    pub fn new(value: Value, path: &str, known: &[&str]) -> Result<Fields, String> {
        let Value::Object(map) = value else {
            return Err(format!("{} must be an object", shown(path)));
        };
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "{}: unknown field {k:?} (expected one of {})",
                shown(path),
                known.join(", ")
            ));
        }
        Ok(Fields {
            map,
            path: path.to_string(),
        })
    }

    /// The path of field `key`, as errors name it.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Removes `key`; absent or null is `None`.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// An optional string.
    pub fn string(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{} must be a string", self.path_of(key))),
        }
    }

    /// A string that must be there.
    pub fn required_string(&mut self, key: &str) -> Result<String, String> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    /// An optional non-negative integer.
    pub fn u64(&mut self, key: &str) -> Result<Option<u64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(_) => Err(format!(
                "{} must be a non-negative integer",
                self.path_of(key)
            )),
        }
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(format!("{} must be true or false", self.path_of(key))),
        }
    }

    /// An optional array.
    pub fn array(&mut self, key: &str) -> Result<Option<Vec<Value>>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(format!("{} must be an array", self.path_of(key))),
        }
    }

    /// An optional array of strings.
    pub fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, String> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(format!("{} must hold strings", self.path_of(key))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An optional object whose keys are all in `known`.
    pub fn object(&mut self, key: &str, known: &[&str]) -> Result<Option<Fields>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => Fields::new(v, &self.path_of(key), known).map(Some),
        }
    }

    /// An optional string that must be one of `values`; the index of the one given.
    pub fn one_of(&mut self, key: &str, values: &[&str]) -> Result<Option<usize>, String> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => values
                .iter()
                .position(|v| *v == s)
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "{} must be one of {} (got {s:?})",
                        self.path_of(key),
                        values.join(", ")
                    )
                }),
        }
    }

    /// The error for a required field that is absent.
    pub fn missing(&self, key: &str) -> String {
        format!("{} is required", self.path_of(key))
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "the configuration"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_typed_and_named_by_path() {
        let mut f = Fields::new(
            json!({"a": "x", "n": 3, "o": {"k": 1}}),
            "p",
            &["a", "n", "o"],
        )
        .unwrap();
        assert_eq!(
            f.u64("a").unwrap_err(),
            "p.a must be a non-negative integer"
        );
        assert_eq!(f.u64("n").unwrap(), Some(3));
        let err = f.object("o", &["j"]).err().unwrap();
        assert_eq!(err, "p.o: unknown field \"k\" (expected one of j)");
        assert_eq!(f.required_string("z").unwrap_err(), "p.z is required");
        let err = Fields::new(json!({"x": 1}), "", &["a"]).err().unwrap();
        assert_eq!(
            err,
            "the configuration: unknown field \"x\" (expected one of a)"
        );
        let mut f = Fields::new(json!({"m": "fast", "s": ["a", 1]}), "q", &["m", "s"]).unwrap();
        assert!(f
            .one_of("m", &["slow"])
            .unwrap_err()
            .contains("must be one of slow"));
        assert_eq!(f.strings("s").unwrap_err(), "q.s must hold strings");
    }

    #[test]
    fn null_is_absent() {
        let mut f = Fields::new(json!({"a": null}), "", &["a"]).unwrap();
        assert_eq!(f.string("a").unwrap(), None);
    }
}
