//! `.env` files as python-dotenv reads them: `KEY=value`, `export KEY=value`, single quotes
//! (literal), double quotes (escapes), `# comments`, and `${VAR}` expansion from earlier keys
//! and the environment.

use crate::target::Env;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    pub key: String,
    pub value: String,
    pub line: usize,
}

pub fn parse(text: &str, env: &dyn Env) -> Vec<Var> {
    let mut vars: Vec<Var> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, rest)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_string();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        let rest = rest.trim();
        let value = if let Some(body) = rest.strip_prefix('\'') {
            body.split_once('\'').map_or(body, |(v, _)| v).to_string()
        } else if let Some(body) = rest.strip_prefix('"') {
            expand(&unescape_double(body), &vars, env)
        } else {
            // Unquoted: a ` #` starts a comment.
            let value = rest.split(" #").next().unwrap_or("").trim_end();
            expand(value, &vars, env)
        };
        vars.push(Var {
            key,
            value,
            line: index + 1,
        });
    }
    vars
}

fn unescape_double(body: &str) -> String {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// `${VAR}` from the file's earlier keys, then the environment (python-dotenv's default).
fn expand(value: &str, vars: &[Var], env: &dyn Env) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        let found = vars
            .iter()
            .rev()
            .find(|v| v.key == name)
            .map(|v| v.value.clone())
            .or_else(|| env.var(name));
        out.push_str(&found.unwrap_or_else(|| default.to_string()));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn quoting_comments_and_expansion() {
        let env: BTreeMap<&str, &str> = [("PGPORT_TEST", "5434")].into_iter().collect();
        let vars = parse(
            "# c\nexport HOST=localhost # the host\nA='lit ${HOST}'\nURL=\"postgresql://${HOST}:${PGPORT_TEST}/x\\\"y\"\nB=${MISSING:-dflt}\n",
            &env,
        );
        let get = |k: &str| vars.iter().find(|v| v.key == k).unwrap().value.clone();
        assert_eq!(get("HOST"), "localhost");
        assert_eq!(get("A"), "lit ${HOST}");
        assert_eq!(get("URL"), "postgresql://localhost:5434/x\"y");
        assert_eq!(get("B"), "dflt");
        assert_eq!(vars[1].line, 3);
    }
}
