//! INI files as pytest (iniconfig) and alembic (configparser) read them: `[section]`,
//! `key = value` or `key: value`, indented continuation lines, `#`/`;` comment lines.

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
    fn url_values_keep_their_colons() {
        let ini = Ini::parse("[alembic]\nsqlalchemy.url = postgresql://a:b@h:5/db\n");
        assert_eq!(
            ini.get("alembic", "sqlalchemy.url").unwrap().value,
            "postgresql://a:b@h:5/db"
        );
    }
}
