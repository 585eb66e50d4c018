//! INI files as pytest (iniconfig) and alembic (configparser) read them: `[section]`,
//! `key = value` or `key: value`, indented continuation lines, `#`/`;` comment lines. The one
//! INI reader of dbguard: `get` gives a value as written (with its lines, for messages), and
//! `value` gives it as configparser does for alembic.ini (case-insensitive keys, `[DEFAULT]`,
//! `%(name)s` interpolation with `here` set to the file's directory, `%%`).

/// One `key = value` entry; a multi-line value keeps one line per continuation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
    /// The 1-based line of each line of `value`.
    pub value_lines: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Ini {
    pub entries: Vec<Entry>,
    pub sections: Vec<String>,
    /// Lines configparser refuses (`line 3: …`): a key before any section, a line that is
    /// not `key = value`. iniconfig-style readers may ignore them; alembic's may not.
    pub problems: Vec<String>,
}

impl Ini {
    pub fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        let mut section = String::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if line.starts_with(char::is_whitespace) {
                // A continuation of the previous key's value.
                if let Some(entry) = ini.entries.last_mut().filter(|e| e.section == section) {
                    if !entry.value.is_empty() {
                        entry.value.push('\n');
                    }
                    entry.value.push_str(trimmed);
                    entry.value_lines.push(index + 1);
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                if let Some((name, _)) = rest.split_once(']') {
                    section = name.trim().to_string();
                    ini.sections.push(section.clone());
                }
                continue;
            }
            let split = match (line.find('='), line.find(':')) {
                (Some(eq), Some(colon)) => Some(eq.min(colon)),
                (eq, colon) => eq.or(colon),
            };
            if split.is_some() && ini.sections.is_empty() {
                ini.problems
                    .push(format!("line {}: a key before any [section]", index + 1));
            }
            if split.is_none() {
                ini.problems.push(format!(
                    "line {}: expected `key = value`, found `{trimmed}`",
                    index + 1
                ));
            }
            if let Some(at) = split {
                let value = line[at + 1..].trim().to_string();
                ini.entries.push(Entry {
                    section: section.clone(),
                    key: line[..at].trim().to_string(),
                    value_lines: if value.is_empty() {
                        vec![]
                    } else {
                        vec![index + 1]
                    },
                    value,
                    line: index + 1,
                });
            }
        }
        ini
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s == name)
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.section == section && e.key == key)
    }

    /// configparser's lookup: the key (case-insensitive) in `section`, else in `[DEFAULT]`.
    pub fn raw(&self, section: &str, key: &str) -> Option<&Entry> {
        let find = |s: &str| {
            self.entries
                .iter()
                .rev()
                .find(|e| e.section == s && e.key.eq_ignore_ascii_case(key))
        };
        find(section).or_else(|| find("DEFAULT"))
    }

    /// The value of `key` in `section` as configparser interpolates it (`%(here)s` is
    /// `here`, the file's directory, as alembic sets it).
    pub fn value(&self, section: &str, key: &str, here: &str) -> Result<Option<String>, String> {
        match self.raw(section, key) {
            Some(entry) => self.interpolate(section, &entry.value, here, 0).map(Some),
            None => Ok(None),
        }
    }

    fn interpolate(
        &self,
        section: &str,
        raw: &str,
        here: &str,
        depth: usize,
    ) -> Result<String, String> {
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
                let name = &r[..close];
                let value = match self.raw(section, name) {
                    Some(entry) => self.interpolate(section, &entry.value, here, depth + 1)?,
                    None if name.eq_ignore_ascii_case("here") => here.to_string(),
                    None => {
                        return Err(format!(
                            "`%({})s` in `{raw}` refers to an unknown key",
                            name.to_lowercase()
                        ))
                    }
                };
                out.push_str(&value);
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
    fn sections_keys_and_continuations() {
        let ini = Ini::parse(
            "# top\n[pytest]\naddopts = -q\nenv =\n    D:A=1\n    # skipped\n    B=2\n[alembic]\nscript_location: migrations\n",
        );
        assert!(ini.has_section("pytest"));
        let env = ini.get("pytest", "env").unwrap();
        assert_eq!(env.value, "D:A=1\nB=2");
        assert_eq!(env.line, 4);
        assert_eq!(env.value_lines, vec![5, 7]);
        assert_eq!(
            ini.get("alembic", "script_location").unwrap().value,
            "migrations"
        );
    }

    #[test]
    fn configparser_values_continuations_and_interpolation() {
        let ini = Ini::parse(
            "# comment\n[alembic]\nscript_location = %(here)s/migrations\nVersion_Locations = %(here)s/a\n    %(here)s/b\nsql = 100%%\n",
        );
        let get = |key: &str| ini.value("alembic", key, "/p").unwrap();
        assert_eq!(get("script_location").unwrap(), "/p/migrations");
        assert_eq!(get("version_locations").unwrap(), "/p/a\n/p/b");
        assert_eq!(get("sql").unwrap(), "100%");
        assert!(get("missing").is_none());
        assert!(!Ini::parse("key = 1\n").problems.is_empty());
        let ini = Ini::parse("[DEFAULT]\nroot = /srv\n[alembic]\nscript_location = %(root)s/m\n");
        assert_eq!(
            ini.value("alembic", "script_location", "/p")
                .unwrap()
                .unwrap(),
            "/srv/m"
        );
    }

    #[test]
    fn url_values_keep_their_colons() {
        let ini = Ini::parse("[alembic]\nsqlalchemy.url = postgresql://a:b@h:5/db\n");
        assert_eq!(
            ini.get("alembic", "sqlalchemy.url").unwrap().value,
            "postgresql://a:b@h:5/db"
        );
    }
}
