//! Just enough of Python's `configparser` to read `alembic.ini` the way alembic does:
//! sections, `key = value` / `key: value`, indented continuation lines, full-line `#`/`;`
//! comments, case-insensitive keys, `[DEFAULT]`, and `%(name)s` interpolation (with `here`
//! set to the file's directory, as alembic sets it) and `%%`.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Ini {
    sections: HashMap<String, HashMap<String, String>>,
    defaults: HashMap<String, String>,
}

impl Ini {
    pub fn parse(text: &str, here: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        ini.defaults.insert("here".to_string(), here.to_string());
        let mut section: Option<String> = None;
        let mut key: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            let indented = line.starts_with([' ', '\t']);
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if indented && !trimmed.is_empty() {
                if let (Some(s), Some(k)) = (&section, &key) {
                    if let Some(value) = ini.values_mut(s).get_mut(k) {
                        value.push('\n');
                        value.push_str(trimmed);
                        continue;
                    }
                }
            }
            if trimmed.is_empty() {
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                section = Some(name.to_string());
                ini.values_mut(name);
                key = None;
                continue;
            }
            let Some(at) = trimmed.find(['=', ':']) else {
                return Err(format!(
                    "line {}: expected `key = value`, found `{trimmed}`",
                    n + 1
                ));
            };
            let Some(s) = &section else {
                return Err(format!("line {}: a key before any [section]", n + 1));
            };
            let k = trimmed[..at].trim().to_lowercase();
            let v = trimmed[at + 1..].trim().to_string();
            ini.values_mut(s).insert(k.clone(), v);
            key = Some(k);
        }
        Ok(ini)
    }

    fn values_mut(&mut self, section: &str) -> &mut HashMap<String, String> {
        if section == "DEFAULT" {
            &mut self.defaults
        } else {
            self.sections.entry(section.to_string()).or_default()
        }
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }

    /// The interpolated value of `key` in `section` (or `[DEFAULT]`).
    pub fn get(&self, section: &str, key: &str) -> Result<Option<String>, String> {
        let values = self.sections.get(section);
        let key = key.to_lowercase();
        let raw = values
            .and_then(|v| v.get(&key))
            .or_else(|| self.defaults.get(&key));
        match raw {
            Some(raw) => self.interpolate(section, raw, 0).map(Some),
            None => Ok(None),
        }
    }

    fn interpolate(&self, section: &str, raw: &str, depth: usize) -> Result<String, String> {
        if depth > 10 {
            return Err(format!("interpolation of `{raw}` nests too deeply"));
        }
        let mut out = String::new();
        let mut rest = raw;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('%') {
                out.push('%');
                rest = r;
            } else if let Some(r) = after.strip_prefix('(') {
                let close = r
                    .find(")s")
                    .ok_or_else(|| format!("bad interpolation syntax in `{raw}`"))?;
                let name = r[..close].to_lowercase();
                let value = self
                    .sections
                    .get(section)
                    .and_then(|v| v.get(&name))
                    .or_else(|| self.defaults.get(&name))
                    .ok_or_else(|| format!("`%({name})s` in `{raw}` refers to an unknown key"))?;
                out.push_str(&self.interpolate(section, value, depth + 1)?);
                rest = &r[close + 2..];
            } else {
                return Err(format!("`%` must be followed by `%` or `(` in `{raw}`"));
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_continuations_and_interpolation() {
        let ini = Ini::parse(
            "# comment\n[alembic]\nscript_location = %(here)s/migrations\nVersion_Locations = %(here)s/a\n    %(here)s/b\nsql = 100%%\n",
            "/p",
        )
        .unwrap();
        assert_eq!(
            ini.get("alembic", "script_location").unwrap().unwrap(),
            "/p/migrations"
        );
        assert_eq!(
            ini.get("alembic", "version_locations").unwrap().unwrap(),
            "/p/a\n/p/b"
        );
        assert_eq!(ini.get("alembic", "sql").unwrap().unwrap(), "100%");
        assert!(ini.get("alembic", "missing").unwrap().is_none());
        assert!(Ini::parse("key = 1\n", "/").is_err());
    }
}
