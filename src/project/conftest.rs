//! Environment variables a conftest.py sets or reads, found statically.
//!
//! The forms understood (with `os.` or imported from `os`): `os.environ["X"] = v`,
//! `os.environ.setdefault("X", v)`, `os.getenv("X", v)`, `os.environ.get("X", v)`,
//! `os.environ["X"]` (a read) and `monkeypatch.setenv("X", v)`. A value is known when it is a
//! string literal, an implicit or `+` concatenation of literals, or a name bound to one at
//! module level (`DEFAULT_URL = "…"`); anything else (an f-string, a call) is reported as
//! dynamic rather than guessed.

use std::collections::HashMap;

use super::python::{tokenize, Kind, Token};

/// What the code does with the variable, which decides whether the process environment or
/// the literal wins at test time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Overwrites the variable: the literal wins.
    Set,
    /// Uses the variable when it is set, else the literal (`setdefault`, `getenv` defaults).
    Default,
    /// Reads the variable, with no literal to fall back on.
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Known(String),
    /// An expression dbguard cannot evaluate without running the code.
    Dynamic,
    Absent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvAccess {
    pub var: String,
    pub access: Access,
    pub value: Value,
    pub line: usize,
    /// How it was written, for messages: `os.environ[...] =`, `os.getenv`, …
    pub form: &'static str,
}

pub fn env_accesses(source: &str) -> Vec<EnvAccess> {
    let tokens = tokenize(source);
    let constants = module_constants(&tokens);
    let reader = Reader {
        tokens: &tokens,
        constants: &constants,
    };
    let mut found = Vec::new();
    for i in 0..tokens.len() {
        if let Some(access) = reader.access_at(i) {
            found.push(access);
        }
    }
    found
}

/// `NAME = "literal"` statements: what a later `os.getenv("X", NAME)` falls back to.
fn module_constants(tokens: &[Token]) -> HashMap<String, String> {
    let mut constants = HashMap::new();
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Newline {
            continue;
        }
        let statement = &tokens[start..i];
        start = i + 1;
        if let [Token {
            kind: Kind::Name(name),
            ..
        }, Token {
            kind: Kind::Op(eq), ..
        }, rest @ ..] = statement
        {
            if eq == "=" {
                if let Some(value) = literal(rest, &constants) {
                    constants.insert(name.clone(), value);
                }
            }
        }
    }
    constants
}

/// The value of an expression made only of string literals, or `None`.
fn literal(tokens: &[Token], constants: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut expect_operand = true;
    for token in tokens {
        match (&token.kind, expect_operand) {
            (
                Kind::Str {
                    value,
                    fstring: false,
                },
                _,
            ) => {
                out.push_str(value);
                expect_operand = false;
            }
            (Kind::Name(name), true) => {
                out.push_str(constants.get(name)?);
                expect_operand = false;
            }
            (Kind::Op(op), false) if op == "+" => expect_operand = true,
            _ => return None,
        }
    }
    (!expect_operand).then_some(out)
}

struct Reader<'a> {
    tokens: &'a [Token],
    constants: &'a HashMap<String, String>,
}

impl Reader<'_> {
    fn name(&self, i: usize) -> Option<&str> {
        match &self.tokens.get(i)?.kind {
            Kind::Name(n) => Some(n),
            _ => None,
        }
    }

    fn op(&self, i: usize, op: &str) -> bool {
        matches!(self.tokens.get(i).map(|t| &t.kind), Some(Kind::Op(o)) if o == op)
    }

    /// `os.NAME` or a bare `NAME` (imported with `from os import NAME`), not `x.NAME`.
    /// Returns the index after it.
    fn os_member(&self, i: usize, member: &str) -> Option<usize> {
        if i > 0 && self.op(i - 1, ".") {
            return None;
        }
        if self.name(i) == Some("os") && self.op(i + 1, ".") && self.name(i + 2) == Some(member) {
            return Some(i + 3);
        }
        (self.name(i) == Some(member)).then_some(i + 1)
    }

    fn access_at(&self, i: usize) -> Option<EnvAccess> {
        let line = self.tokens[i].line;
        if let Some(after) = self.os_member(i, "environ") {
            if self.op(after, "[") {
                let var = self.string_at(after + 1)?;
                if !self.op(after + 2, "]") {
                    return None;
                }
                if self.op(after + 3, "=") {
                    let value = self.expression(after + 4);
                    return Some(EnvAccess {
                        var,
                        access: Access::Set,
                        value,
                        line,
                        form: "os.environ[...] =",
                    });
                }
                return Some(EnvAccess {
                    var,
                    access: Access::Read,
                    value: Value::Absent,
                    line,
                    form: "os.environ[...]",
                });
            }
            if self.op(after, ".") && self.op(after + 2, "(") {
                let method = self.name(after + 1)?;
                let (form, access) = match method {
                    "get" => ("os.environ.get", Access::Default),
                    "setdefault" => ("os.environ.setdefault", Access::Default),
                    _ => return None,
                };
                return self.call(after + 3, form, access, line);
            }
            return None;
        }
        if let Some(after) = self.os_member(i, "getenv") {
            if self.op(after, "(") {
                return self.call(after + 1, "os.getenv", Access::Default, line);
            }
            return None;
        }
        // monkeypatch.setenv("X", v) (any receiver name: `mp.setenv` works the same).
        if self.name(i).is_some()
            && self.op(i + 1, ".")
            && self.name(i + 2) == Some("setenv")
            && self.op(i + 3, "(")
            && self.name(i) != Some("os")
        {
            return self.call(i + 4, "monkeypatch.setenv", Access::Set, line);
        }
        None
    }

    /// A call's arguments from `start` (just after `(`): the variable name first, then the
    /// value or default (positional or `default=` / `value=`).
    fn call(
        &self,
        start: usize,
        form: &'static str,
        access: Access,
        line: usize,
    ) -> Option<EnvAccess> {
        let args = self.arguments(start);
        let var = match args.first()? {
            (None, tokens) => literal(tokens, self.constants)?,
            _ => return None,
        };
        let value = args
            .iter()
            .skip(1)
            .find(|(keyword, _)| {
                keyword.is_none() || matches!(keyword.as_deref(), Some("default" | "value"))
            })
            .map(|(_, tokens)| evaluate(literal(tokens, self.constants)))
            .unwrap_or(Value::Absent);
        let access = if access == Access::Default && value == Value::Absent {
            Access::Read
        } else {
            access
        };
        Some(EnvAccess {
            var,
            access,
            value,
            line,
            form,
        })
    }

    /// Splits `a, b=c, …)` into `(keyword, tokens)` pairs at bracket depth 0.
    fn arguments(&self, start: usize) -> Vec<(Option<String>, &[Token])> {
        let mut args = Vec::new();
        let mut depth = 0usize;
        let mut arg_start = start;
        let mut i = start;
        while let Some(token) = self.tokens.get(i) {
            match &token.kind {
                Kind::Op(o) if matches!(o.as_str(), "(" | "[" | "{") => depth += 1,
                Kind::Op(o) if matches!(o.as_str(), ")" | "]" | "}") => {
                    if depth == 0 {
                        args.push(self.argument(arg_start, i));
                        break;
                    }
                    depth -= 1;
                }
                Kind::Op(o) if o == "," && depth == 0 => {
                    args.push(self.argument(arg_start, i));
                    arg_start = i + 1;
                }
                Kind::Newline => break,
                _ => {}
            }
            i += 1;
        }
        args.retain(|(_, tokens)| !tokens.is_empty());
        args
    }

    fn argument(&self, start: usize, end: usize) -> (Option<String>, &[Token]) {
        let tokens = &self.tokens[start..end];
        match tokens {
            [Token {
                kind: Kind::Name(k),
                ..
            }, Token {
                kind: Kind::Op(eq), ..
            }, rest @ ..]
                if eq == "=" =>
            {
                (Some(k.clone()), rest)
            }
            _ => (None, tokens),
        }
    }

    fn string_at(&self, i: usize) -> Option<String> {
        literal(self.tokens.get(i..i + 1)?, self.constants)
    }

    /// The right-hand side of an assignment, up to the end of the logical line.
    fn expression(&self, start: usize) -> Value {
        let end = self.tokens[start..]
            .iter()
            .position(|t| t.kind == Kind::Newline)
            .map_or(self.tokens.len(), |p| start + p);
        evaluate(literal(&self.tokens[start..end], self.constants))
    }
}

fn evaluate(value: Option<String>) -> Value {
    value.map_or(Value::Dynamic, Value::Known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(source: &str) -> EnvAccess {
        let found = env_accesses(source);
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn assignment_sets() {
        let a = one(
            "import os\nos.environ[\"DATABASE_URL\"] = 'postgresql://localhost:5434/app_test'\n",
        );
        assert_eq!(a.var, "DATABASE_URL");
        assert_eq!(a.access, Access::Set);
        assert_eq!(
            a.value,
            Value::Known("postgresql://localhost:5434/app_test".into())
        );
        assert_eq!(a.line, 2);
    }

    #[test]
    fn defaults_from_getenv_get_and_setdefault() {
        let a = one("URL = os.getenv('TEST_DATABASE_URL', 'postgresql:///a_test')");
        assert_eq!((a.access, a.form), (Access::Default, "os.getenv"));
        assert_eq!(a.value, Value::Known("postgresql:///a_test".into()));
        let a = one("from os import environ\nurl = environ.get('X', default='pg://' 'h/db')");
        assert_eq!(
            (a.access, a.value),
            (Access::Default, Value::Known("pg://h/db".into()))
        );
        let a = one("os.environ.setdefault(\n    'X',\n    'v',\n)\n");
        assert_eq!((a.form, a.line), ("os.environ.setdefault", 1));
        assert_eq!(a.value, Value::Known("v".into()));
    }

    #[test]
    fn reads_without_default() {
        assert_eq!(one("x = os.getenv('X')").access, Access::Read);
        assert_eq!(one("x = os.environ['X']").access, Access::Read);
    }

    #[test]
    fn module_constants_are_followed() {
        let src = "BASE = 'postgresql://localhost:5434/'\nURL = BASE + 'app_test'\n";
        let a = one(&format!("{src}os.environ.setdefault('X', URL)\n"));
        assert_eq!(
            a.value,
            Value::Known("postgresql://localhost:5434/app_test".into())
        );
    }

    #[test]
    fn dynamic_values_are_not_guessed() {
        let a = one("os.environ['X'] = f'postgresql:///{name}'\n");
        assert_eq!(a.value, Value::Dynamic);
        let a = one("os.environ['X'] = build_url()\n");
        assert_eq!(a.value, Value::Dynamic);
    }

    #[test]
    fn monkeypatch_setenv_and_lookalikes() {
        let a = one("def f(monkeypatch):\n    monkeypatch.setenv('X', 'v')\n");
        assert_eq!((a.access, a.form), (Access::Set, "monkeypatch.setenv"));
        assert!(env_accesses("settings.environ['X'] = 'v'\n# os.environ['X'] = 'v'\n").is_empty());
        assert!(env_accesses("if os.environ['X'] == 'v': pass\n")
            .iter()
            .all(|a| a.access == Access::Read));
    }
}
