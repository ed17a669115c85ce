//! Named lists (`rules/lists.toml`), referenced from rules as `"@name"`.

use std::collections::HashMap;

/// The lists of a rule pack.
#[derive(Debug, Default)]
pub struct Lists(HashMap<String, Vec<String>>);

impl Lists {
    pub fn parse(text: &str) -> Result<Lists, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut out = HashMap::new();
        for (name, v) in table {
            let arr = v.as_array().ok_or_else(|| format!("list `{name}` is not an array"))?;
            let items = arr
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(|| format!("list `{name}` holds a non-string")))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(name, items);
        }
        Ok(Lists(out))
    }

    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// A string or list of strings, with every `@name` replaced by the
    /// list's entries (lists may refer to other lists).
    pub fn expand(&self, v: &toml::Value) -> Result<Vec<String>, String> {
        let raw: Vec<&str> = match v {
            toml::Value::String(s) => vec![s.as_str()],
            toml::Value::Array(a) => {
                a.iter().map(|x| x.as_str().ok_or_else(|| "expected strings".to_string())).collect::<Result<_, _>>()?
            }
            _ => return Err("expected a string or a list of strings".into()),
        };
        let mut out = Vec::new();
        for s in raw {
            self.splice(s, &mut out, 0)?;
        }
        Ok(out)
    }

    fn splice(&self, s: &str, out: &mut Vec<String>, depth: usize) -> Result<(), String> {
        let Some(name) = s.strip_prefix('@') else {
            out.push(s.to_string());
            return Ok(());
        };
        if depth > 8 {
            return Err(format!("list @{name} refers to itself"));
        }
        let items = self.0.get(name).ok_or_else(|| format!("unknown list @{name}"))?;
        for item in items {
            self.splice(item, out, depth + 1)?;
        }
        Ok(())
    }
}
