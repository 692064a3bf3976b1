//! JSONPath as Amazon States Language uses it (`$`, `$.a.b`, `$.a[0]`, `$['a b']`, and the
//! context object `$$.…`), the payload templates of `Parameters`, `ResultSelector` and
//! `ItemSelector` (keys ending in `.$`), `ResultPath` merging, and the intrinsic functions
//! (`States.Format`, `States.StringToJson`, `States.JsonToString`, `States.Array`,
//! `States.ArrayLength`, `States.ArrayGetItem`, `States.MathAdd`).

use serde_json::{Map, Value};

/// A named failure while evaluating a path or template (`States.ParameterPathFailure`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFailure {
    /// The error name.
    pub error: &'static str,
    /// What failed.
    pub cause: String,
}

fn failure(error: &'static str, cause: impl Into<String>) -> PathFailure {
    PathFailure { error, cause: cause.into() }
}

/// One step of a path.
#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `$.a.b[0]['c d']` into segments (after the leading `$`).
fn segments(path: &str) -> Option<Vec<Segment>> {
    let rest = path.strip_prefix('$')?;
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                if key.is_empty() {
                    return None;
                }
                out.push(Segment::Key(key));
            }
            '[' => {
                let mut inside = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    inside.push(c);
                }
                let quoted = inside.strip_prefix('\'').and_then(|s| s.strip_suffix('\''));
                match quoted {
                    Some(key) => out.push(Segment::Key(key.to_owned())),
                    None => out.push(Segment::Index(inside.trim().parse().ok()?)),
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The value at a reference path, or `None` when the path is malformed or absent.
#[must_use]
pub fn get(value: &Value, path: &str) -> Option<Value> {
    let mut current = value;
    for segment in segments(path)? {
        current = match segment {
            Segment::Key(k) => current.as_object()?.get(&k)?,
            Segment::Index(i) => current.as_array()?.get(i)?,
        };
    }
    Some(current.clone())
}

/// `input` with `result` placed at `result_path` (`None` = `$`: the result replaces the
/// input; `Some(None)` = `null`: the input passes unchanged), creating objects on the way.
///
/// # Errors
/// `States.ResultPathMatchFailure` when the path crosses a value that is not an object.
pub fn merge(input: &Value, result: Value, result_path: Option<&Option<String>>) -> Result<Value, PathFailure> {
    let path = match result_path {
        None => return Ok(result),
        Some(None) => return Ok(input.clone()),
        Some(Some(path)) => path,
    };
    let segments = segments(path)
        .ok_or_else(|| failure("States.ResultPathMatchFailure", format!("ResultPath {path:?} is not a path")))?;
    if segments.is_empty() {
        return Ok(result);
    }
    let mut out = input.clone();
    let mut current = &mut out;
    let last = segments.len() - 1;
    for (i, segment) in segments.into_iter().enumerate() {
        let Segment::Key(key) = segment else {
            return Err(failure("States.ResultPathMatchFailure", format!("ResultPath {path:?} indexes an array")));
        };
        let object = current.as_object_mut().ok_or_else(|| {
            failure(
                "States.ResultPathMatchFailure",
                format!("ResultPath {path:?} does not match the input: not an object"),
            )
        })?;
        if i == last {
            object.insert(key, result);
            return Ok(out);
        }
        current = object.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(out)
}

/// The value an `InputPath`/`OutputPath` selects (`None` = `$`, `Some(None)` = `{}`).
///
/// # Errors
/// `States.Runtime` when the path matches nothing.
pub fn select(value: &Value, path: Option<&Option<String>>, field: &str) -> Result<Value, PathFailure> {
    match path {
        None => Ok(value.clone()),
        Some(None) => Ok(Value::Object(Map::new())),
        Some(Some(path)) => get(value, path).ok_or_else(|| {
            failure("States.Runtime", format!("{field} {path:?} matches nothing in {}", abbreviate(value)))
        }),
    }
}

fn abbreviate(value: &Value) -> String {
    wb_core::text::clip(&value.to_string(), 120)
}

/// Evaluates a payload template against `input` and the `context` object: keys ending in `.$`
/// take the value of their path (`$…`), context path (`$$…`) or intrinsic function call.
///
/// # Errors
/// `States.ParameterPathFailure` for a path that matches nothing, `States.IntrinsicFailure` for
/// a bad intrinsic call.
pub fn render(template: &Value, input: &Value, context: &Value) -> Result<Value, PathFailure> {
    match template {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                if let Some(name) = key.strip_suffix(".$") {
                    let Some(expression) = value.as_str() else {
                        return Err(failure("States.ParameterPathFailure", format!("{key} must hold a path string")));
                    };
                    out.insert(name.to_owned(), evaluate(expression, input, context)?);
                } else {
                    out.insert(key.clone(), render(value, input, context)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            items.iter().map(|v| render(v, input, context)).collect::<Result<_, _>>().map(Value::Array)
        }
        other => Ok(other.clone()),
    }
}

/// A path, a context path or an intrinsic call.
fn evaluate(expression: &str, input: &Value, context: &Value) -> Result<Value, PathFailure> {
    let expression = expression.trim();
    if let Some(context_path) = expression.strip_prefix("$$") {
        return get(context, &format!("${context_path}")).ok_or_else(|| {
            failure("States.ParameterPathFailure", format!("the context has nothing at {expression:?}"))
        });
    }
    if expression.starts_with('$') {
        return get(input, expression).ok_or_else(|| {
            failure("States.ParameterPathFailure", format!("{expression:?} matches nothing in {}", abbreviate(input)))
        });
    }
    if expression.starts_with("States.") {
        let mut parser = Parser { text: expression, at: 0, input, context };
        let value = parser.call()?;
        parser.skip_spaces();
        if parser.at != expression.len() {
            return Err(intrinsic(format!("unexpected text after the call in {expression:?}")));
        }
        return Ok(value);
    }
    Err(failure("States.ParameterPathFailure", format!("{expression:?} is not a path or an intrinsic function")))
}

fn intrinsic(cause: impl Into<String>) -> PathFailure {
    failure("States.IntrinsicFailure", cause)
}

/// A recursive-descent reader of intrinsic calls: `States.Name(arg, …)` where an argument is
/// a `'string'`, a number, `true`/`false`/`null`, a path or another call.
struct Parser<'a> {
    text: &'a str,
    at: usize,
    input: &'a Value,
    context: &'a Value,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        while self.rest().starts_with(' ') {
            self.at += 1;
        }
    }

    fn call(&mut self) -> Result<Value, PathFailure> {
        let name_len =
            self.rest().find('(').ok_or_else(|| intrinsic(format!("{:?} has no argument list", self.text)))?;
        let name = self.rest()[..name_len].trim().to_owned();
        self.at += name_len + 1;
        let mut args = Vec::new();
        loop {
            self.skip_spaces();
            if self.rest().starts_with(')') {
                self.at += 1;
                break;
            }
            args.push(self.argument()?);
            self.skip_spaces();
            if self.rest().starts_with(',') {
                self.at += 1;
            } else if !self.rest().starts_with(')') {
                return Err(intrinsic(format!("expected ',' or ')' in {:?}", self.text)));
            }
        }
        apply(&name, args)
    }

    fn argument(&mut self) -> Result<Value, PathFailure> {
        let rest = self.rest();
        if let Some(quoted) = rest.strip_prefix('\'') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    '\'' => {
                        self.at += i + 2;
                        return Ok(Value::String(out));
                    }
                    c => out.push(c),
                }
            }
            return Err(intrinsic(format!("unterminated string in {:?}", self.text)));
        }
        if rest.starts_with("States.") {
            return self.call();
        }
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        let token = rest[..end].trim().to_owned();
        self.at += end;
        if token.starts_with('$') {
            return evaluate(&token, self.input, self.context);
        }
        serde_json::from_str(&token)
            .map_err(|_| intrinsic(format!("cannot read the argument {token:?} in {:?}", self.text)))
    }
}

fn apply(name: &str, args: Vec<Value>) -> Result<Value, PathFailure> {
    let count = |n: usize| {
        if args.len() == n { Ok(()) } else { Err(intrinsic(format!("{name} takes {n} arguments, not {}", args.len()))) }
    };
    match name {
        "States.Format" => {
            let Some(Value::String(template)) = args.first() else {
                return Err(intrinsic("States.Format needs a template string first"));
            };
            let mut values = args[1..].iter();
            let mut out = String::new();
            let mut pieces = template.split("{}").peekable();
            while let Some(piece) = pieces.next() {
                out.push_str(piece);
                if pieces.peek().is_some() {
                    match values.next() {
                        Some(Value::String(s)) => out.push_str(s),
                        Some(other) => out.push_str(&other.to_string()),
                        None => return Err(intrinsic("States.Format has more {} than arguments")),
                    }
                }
            }
            if values.next().is_some() {
                return Err(intrinsic("States.Format has more arguments than {}"));
            }
            Ok(Value::String(out))
        }
        "States.StringToJson" => {
            count(1)?;
            let text = args[0].as_str().ok_or_else(|| intrinsic("States.StringToJson needs a string"))?;
            serde_json::from_str(text).map_err(|e| intrinsic(format!("States.StringToJson: {e}")))
        }
        "States.JsonToString" => {
            count(1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayLength" => {
            count(1)?;
            let items = args[0].as_array().ok_or_else(|| intrinsic("States.ArrayLength needs an array"))?;
            Ok(Value::from(items.len()))
        }
        "States.ArrayGetItem" => {
            count(2)?;
            let items = args[0].as_array().ok_or_else(|| intrinsic("States.ArrayGetItem needs an array"))?;
            let index = args[1].as_u64().ok_or_else(|| intrinsic("States.ArrayGetItem needs an index"))?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| intrinsic(format!("States.ArrayGetItem: index {index} is out of range")))
        }
        "States.MathAdd" => {
            count(2)?;
            match (args[0].as_i64(), args[1].as_i64()) {
                (Some(a), Some(b)) => Ok(Value::from(a.saturating_add(b))),
                _ => Err(intrinsic("States.MathAdd needs two integers")),
            }
        }
        other => Err(intrinsic(format!("unknown intrinsic function {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_read_and_result_paths_write() {
        let v = json!({"a": {"b": [10, {"c d": 3}]}});
        assert_eq!(get(&v, "$"), Some(v.clone()));
        assert_eq!(get(&v, "$.a.b[0]"), Some(json!(10)));
        assert_eq!(get(&v, "$.a.b[1]['c d']"), Some(json!(3)));
        assert_eq!(get(&v, "$.a.x"), None);
        assert_eq!(merge(&v, json!(1), Some(&Some("$.r.s".into()))).expect("merges")["r"]["s"], 1);
        assert_eq!(merge(&v, json!(1), None).expect("replaces"), json!(1));
        assert_eq!(merge(&v, json!(1), Some(&None)).expect("discards"), v);
        assert_eq!(
            merge(&json!(3), json!(1), Some(&Some("$.r".into()))).expect_err("scalar").error,
            "States.ResultPathMatchFailure"
        );
    }

    #[test]
    fn templates_and_intrinsics() {
        let input = json!({"name": "cat", "n": 2, "text": "{\"k\": [1, 2]}", "list": [5, 6, 7]});
        let context = json!({"Execution": {"Id": "exec-1"}});
        let template = json!({
            "plain": "x",
            "name.$": "$.name",
            "id.$": "$$.Execution.Id",
            "greeting.$": "States.Format('a {} and {} more: {}', $.name, $.n, 'it\\'s ok')",
            "parsed.$": "States.StringToJson($.text)",
            "back.$": "States.JsonToString($.list)",
            "pair.$": "States.Array($.n, 'x', States.ArrayLength($.list))",
            "third.$": "States.ArrayGetItem($.list, 2)",
            "sum.$": "States.MathAdd($.n, -5)",
            "nested": [{"v.$": "$.n"}],
        });
        let out = render(&template, &input, &context).expect("renders");
        assert_eq!(out["plain"], "x");
        assert_eq!(out["greeting"], "a cat and 2 more: it's ok");
        assert_eq!(out["name"], "cat");
        assert_eq!(out["id"], "exec-1");
        assert_eq!(out["parsed"], json!({"k": [1, 2]}));
        assert_eq!(out["back"], "[5,6,7]");
        assert_eq!(out["pair"], json!([2, "x", 3]));
        assert_eq!(out["third"], 7);
        assert_eq!(out["sum"], -3);
        assert_eq!(out["nested"][0]["v"], 2);
        let missing = render(&json!({"x.$": "$.absent"}), &input, &context).expect_err("missing");
        assert_eq!(missing.error, "States.ParameterPathFailure");
        let bad = render(&json!({"x.$": "States.Nope(1)"}), &input, &context).expect_err("unknown");
        assert_eq!(bad.error, "States.IntrinsicFailure");
    }
}
