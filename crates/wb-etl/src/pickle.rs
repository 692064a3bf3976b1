//! A small unpickler for the pickles of CIFAR archives, and a writer of their Python 2 form.
//!
//! [`load`] runs the pickle virtual machine over the opcodes that Python 2's `cPickle` (protocol
//! 2) and Python 3's `pickle` (protocols 2 to 5) use for dicts, lists, tuples, integers, strings,
//! byte strings and numpy `uint8` arrays. Nothing is ever imported or executed: a `GLOBAL` or
//! `STACK_GLOBAL` is resolved against a fixed whitelist —
//!
//! - `numpy.core.multiarray._reconstruct` / `numpy._core.multiarray._reconstruct` with
//!   `numpy.ndarray` and `numpy.dtype`, followed by `BUILD` with the array state
//!   `(version, shape, dtype, is_fortran, rawdata)` (numpy's `__reduce__`, every protocol below 5),
//! - `numpy.core.numeric._frombuffer` / `numpy._core.numeric._frombuffer`
//!   `(buffer, dtype, shape, order)` (numpy's protocol 5 form with in-band buffers),
//! - `_codecs.encode(text, 'latin1')`, `bytes()` and `bytearray(..)` (how Python 3 writes
//!   byte strings under protocol 2),
//!
//! and anything else is an error. Only `uint8` arrays (`u1`) are understood. Lists may hold
//! only strings, numbers and arrays, dict values only those and lists, tuples nest at most 16
//! deep (what CIFAR pickles need), so a hostile pickle can neither exhaust the stack nor build
//! reference cycles. Lengths are checked against the input before anything is allocated.
//!
//! Python 2 strings (`BINSTRING`, `SHORT_BINSTRING`) are read as byte strings, as
//! `pickle.load(f, encoding="bytes")` does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// Why a pickle cannot be read: the byte offset of the opcode at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PickleError {
    /// Offset of the opcode (or of the end of the data when it is truncated).
    pub(crate) offset: usize,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

type PResult<T> = std::result::Result<T, PickleError>;

/// The whitelisted callables and classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Global {
    CodecsEncode,
    Reconstruct,
    FromBuffer,
    NdArray,
    Dtype,
    Bytes,
    ByteArray,
}

impl Global {
    fn resolve(module: &str, name: &str) -> Option<Self> {
        Some(match (module, name) {
            ("_codecs", "encode") => Self::CodecsEncode,
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Self::Reconstruct,
            ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Self::FromBuffer,
            ("numpy", "ndarray") => Self::NdArray,
            ("numpy", "dtype") => Self::Dtype,
            ("__builtin__" | "builtins", "bytes") => Self::Bytes,
            ("__builtin__" | "builtins", "bytearray") => Self::ByteArray,
            _ => return None,
        })
    }
}

/// A numpy array: an empty one from `_reconstruct` until `BUILD` gives it its state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Array {
    /// The shape; empty until built.
    pub(crate) shape: Vec<usize>,
    /// The elements in C (row-major) order; `None` until built.
    pub(crate) data: Option<Rc<Vec<u8>>>,
}

/// A Python value as far as CIFAR pickles need them.
///
/// Lists, dicts and arrays are shared (`Rc<RefCell<_>>`) because pickles mutate them after
/// memoizing them (`EMPTY_LIST`, `BINPUT`, `APPENDS`), exactly as Python objects are shared.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(Rc<String>),
    Bytes(Rc<Vec<u8>>),
    List(Rc<RefCell<Vec<Value>>>),
    Tuple(Rc<Vec<Value>>),
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    Global(Global),
    Dtype,
    Array(Rc<RefCell<Array>>),
}

impl Value {
    /// A short name of the value's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
            Self::List(_) => "list",
            Self::Tuple(_) => "tuple",
            Self::Dict(_) => "dict",
            Self::Global(_) => "class or function",
            Self::Dtype => "numpy dtype",
            Self::Array(_) => "numpy array",
        }
    }

    /// The text of a `str` or (ASCII-compatible, UTF-8) `bytes` value.
    pub(crate) fn as_text(&self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s.as_str().to_owned()),
            Self::Bytes(b) => String::from_utf8(b.as_slice().to_vec()).ok(),
            _ => None,
        }
    }

    /// Whether this is the `str` or `bytes` key `key`.
    fn is_key(&self, key: &str) -> bool {
        match self {
            Self::Str(s) => s.as_str() == key,
            Self::Bytes(b) => b.as_slice() == key.as_bytes(),
            _ => false,
        }
    }

    /// The value stored under the `bytes` or `str` key `key`, when this is a dict.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        match self {
            Self::Dict(items) => items.borrow().iter().find(|(k, _)| k.is_key(key)).map(|(_, v)| v.clone()),
            _ => None,
        }
    }

    /// The items of a list or tuple.
    pub(crate) fn items(&self) -> Option<Vec<Value>> {
        match self {
            Self::List(items) => Some(items.borrow().clone()),
            Self::Tuple(items) => Some(items.as_ref().clone()),
            _ => None,
        }
    }
}

const MAX_PROTOCOL: u8 = 5;

/// Reads one pickle from `data` (the bytes after `STOP` are ignored).
pub(crate) fn load(data: &[u8]) -> PResult<Value> {
    Machine { data, pos: 0, op_start: 0, stack: Vec::new(), marks: Vec::new(), memo: HashMap::new() }.run()
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    op_start: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
}

impl Machine<'_> {
    fn error(&self, message: impl Into<String>) -> PickleError {
        PickleError { offset: self.op_start, message: message.into() }
    }

    fn take(&mut self, n: usize) -> PResult<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.data.len()).ok_or_else(|| PickleError {
            offset: self.data.len(),
            message: format!(
                "the pickle is truncated: the opcode at byte {} needs {n} more bytes, {} remain",
                self.op_start,
                self.data.len() - self.pos
            ),
        })?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> PResult<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0_u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self) -> PResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32_len(&mut self) -> PResult<usize> {
        let n = u32::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| self.error("length does not fit in memory"))
    }

    fn u64_len(&mut self) -> PResult<usize> {
        let n = u64::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| self.error(format!("length {n} does not fit in memory")))
    }

    fn line(&mut self) -> PResult<String> {
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.error("unterminated GLOBAL name"))?;
        let text = std::str::from_utf8(&rest[..end]).map_err(|_| self.error("GLOBAL name is not UTF-8"))?.to_owned();
        self.pos += end + 1;
        Ok(text)
    }

    fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    fn pop(&mut self) -> PResult<Value> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(self.error("the stack is empty above the mark"));
        }
        self.stack.pop().ok_or_else(|| self.error("the stack is empty"))
    }

    fn top(&self) -> PResult<&Value> {
        self.stack.last().ok_or_else(|| self.error("the stack is empty"))
    }

    fn pop_mark(&mut self) -> PResult<Vec<Value>> {
        let mark = self.marks.pop().ok_or_else(|| self.error("no MARK on the stack"))?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn memo_put(&mut self, index: u64) -> PResult<()> {
        let value = self.top()?.clone();
        self.memo.insert(index, value);
        Ok(())
    }

    fn memo_get(&mut self, index: u64) -> PResult<()> {
        let value =
            self.memo.get(&index).cloned().ok_or_else(|| self.error(format!("memo entry {index} is not defined")))?;
        self.push(value);
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> PResult<()> {
        let bytes = self.take(n)?.to_vec();
        self.push(Value::Bytes(Rc::new(bytes)));
        Ok(())
    }

    fn text(&mut self, n: usize) -> PResult<()> {
        let bytes = self.take(n)?.to_vec();
        let text = String::from_utf8(bytes).map_err(|_| self.error("string is not valid UTF-8"))?;
        self.push(Value::Str(Rc::new(text)));
        Ok(())
    }

    fn long(&mut self, n: usize) -> PResult<()> {
        if n > 8 {
            return Err(self.error(format!("integer of {n} bytes is too large")));
        }
        let bytes = self.take(n)?;
        let mut buf = if bytes.last().is_some_and(|&b| b & 0x80 != 0) { [0xff_u8; 8] } else { [0_u8; 8] };
        buf[..n].copy_from_slice(bytes);
        self.push(Value::Int(i64::from_le_bytes(buf)));
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str) -> PResult<()> {
        let global = Global::resolve(module, name).ok_or_else(|| {
            self.error(format!(
                "global {module}.{name} is not allowed (only numpy uint8 arrays, dtypes and byte strings are read)"
            ))
        })?;
        self.push(Value::Global(global));
        Ok(())
    }

    fn run(mut self) -> PResult<Value> {
        loop {
            self.op_start = self.pos;
            let op = self.u8().map_err(|_| PickleError {
                offset: self.data.len(),
                message: "the pickle ends without STOP (truncated)".to_owned(),
            })?;
            match op {
                0x80 => {
                    let version = self.u8()?;
                    if version > MAX_PROTOCOL {
                        return Err(self.error(format!("pickle protocol {version} is not supported (0 to 5 are)")));
                    }
                }
                0x95 => {
                    // FRAME: only a hint for buffering.
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.push(Value::Dict(Rc::default())),
                b']' => self.push(Value::List(Rc::default())),
                b')' => self.push(Value::Tuple(Rc::default())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.tuple(items)?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n || self.marks.last().is_some_and(|&m| m > self.stack.len() - n) {
                        return Err(self.error(format!("TUPLE{n} needs {n} items on the stack")));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.tuple(items)?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(Rc::new(RefCell::new(items))));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.push(Value::Dict(Rc::new(RefCell::new(pairs))));
                }
                b'a' => {
                    let value = self.pop()?;
                    self.append(vec![value])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(vec![(key, value)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.set_items(pairs)?;
                }
                b'J' => {
                    let n = i32::from_le_bytes(self.array()?);
                    self.push(Value::Int(i64::from(n)));
                }
                b'K' => {
                    let n = self.u8()?;
                    self.push(Value::Int(i64::from(n)));
                }
                b'M' => {
                    let n = u16::from_le_bytes(self.array()?);
                    self.push(Value::Int(i64::from(n)));
                }
                0x8a => {
                    let n = usize::from(self.u8()?);
                    self.long(n)?;
                }
                0x8b => {
                    let n = self.u32_len()?;
                    self.long(n)?;
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'T' => {
                    let n = i32::from_le_bytes(self.array()?);
                    let n = usize::try_from(n).map_err(|_| self.error(format!("negative BINSTRING length {n}")))?;
                    self.bytes(n)?;
                }
                b'U' | b'C' => {
                    let n = usize::from(self.u8()?);
                    self.bytes(n)?;
                }
                b'B' => {
                    let n = self.u32_len()?;
                    self.bytes(n)?;
                }
                0x8e | 0x96 => {
                    let n = self.u64_len()?;
                    self.bytes(n)?;
                }
                b'X' => {
                    let n = self.u32_len()?;
                    self.text(n)?;
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    self.text(n)?;
                }
                0x8d => {
                    let n = self.u64_len()?;
                    self.text(n)?;
                }
                b'q' => {
                    let index = self.u8()?;
                    self.memo_put(u64::from(index))?;
                }
                b'r' => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memo_put(u64::from(index))?;
                }
                0x94 => {
                    let index = self.memo.len() as u64;
                    self.memo_put(index)?;
                }
                b'h' => {
                    let index = self.u8()?;
                    self.memo_get(u64::from(index))?;
                }
                b'j' => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memo_get(u64::from(index))?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(&module, &name)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (Value::Str(module), Value::Str(name)) => {
                            let (module, name) = (Rc::clone(module), Rc::clone(name));
                            self.global(&module, &name)?;
                        }
                        _ => return Err(self.error("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let value = self.reduce(&callable, &args)?;
                    self.push(value);
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?.clone();
                    self.build(&target, &state)?;
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let value = self.top()?.clone();
                    self.push(value);
                }
                0x97 | 0x98 => {
                    return Err(self.error("out-of-band buffers (pickle protocol 5 buffer_callback) are not supported"));
                }
                other => {
                    let shown =
                        if other.is_ascii_graphic() { format!(" ({:?})", char::from(other)) } else { String::new() };
                    return Err(self.error(format!("unsupported pickle opcode 0x{other:02x}{shown}")));
                }
            }
        }
    }

    fn pairs(&self, items: Vec<Value>) -> PResult<Vec<(Value, Value)>> {
        if !items.len().is_multiple_of(2) {
            return Err(self.error("odd number of items for a dict"));
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut iter = items.into_iter();
        while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
            pairs.push((k, v));
        }
        Ok(pairs)
    }

    /// Pushes a tuple, refusing nesting deeper than [`MAX_TUPLE_DEPTH`].
    fn tuple(&mut self, items: Vec<Value>) -> PResult<()> {
        let depth = 1 + items.iter().map(depth).max().unwrap_or(0);
        if depth > MAX_TUPLE_DEPTH {
            return Err(self.error(format!("tuples nested more than {MAX_TUPLE_DEPTH} deep")));
        }
        self.push(Value::Tuple(Rc::new(items)));
        Ok(())
    }

    fn append(&self, items: Vec<Value>) -> PResult<()> {
        if let Some(bad) = items.iter().find(|v| !is_leaf(v)) {
            return Err(
                self.error(format!("a list holding a {} (nested containers are not supported)", bad.type_name()))
            );
        }
        match self.top()? {
            Value::List(list) => {
                list.borrow_mut().extend(items);
                Ok(())
            }
            other => Err(self.error(format!("APPEND(S) to a {}", other.type_name()))),
        }
    }

    fn set_items(&self, pairs: Vec<(Value, Value)>) -> PResult<()> {
        match self.top()? {
            Value::Dict(dict) => {
                let mut dict = dict.borrow_mut();
                for (key, value) in pairs {
                    if !(is_leaf(&value) || matches!(value, Value::List(_))) {
                        return Err(self.error(format!(
                            "a dict value that is a {} (only lists, strings, numbers and arrays are supported)",
                            value.type_name()
                        )));
                    }
                    if !matches!(key, Value::Str(_) | Value::Bytes(_) | Value::Int(_) | Value::Bool(_) | Value::None) {
                        return Err(self.error(format!("unsupported dict key of type {}", key.type_name())));
                    }
                    match dict.iter_mut().find(|(k, _)| same_key(k, &key)) {
                        Some(slot) => slot.1 = value,
                        None => dict.push((key, value)),
                    }
                }
                Ok(())
            }
            other => Err(self.error(format!("SETITEM(S) on a {}", other.type_name()))),
        }
    }

    fn args<'v>(&self, args: &'v Value, what: &str, counts: &[usize]) -> PResult<&'v [Value]> {
        match args {
            Value::Tuple(items) if counts.contains(&items.len()) => Ok(items.as_slice()),
            Value::Tuple(items) => Err(self.error(format!("{what} called with {} arguments", items.len()))),
            other => {
                Err(self.error(format!("{what} called with a {} instead of an argument tuple", other.type_name())))
            }
        }
    }

    fn reduce(&self, callable: &Value, args: &Value) -> PResult<Value> {
        let Value::Global(global) = callable else {
            return Err(self.error(format!("REDUCE on a {}", callable.type_name())));
        };
        match global {
            Global::CodecsEncode => {
                let args = self.args(args, "_codecs.encode", &[2])?;
                let (Value::Str(text), Some(encoding)) = (&args[0], args[1].as_text()) else {
                    return Err(self.error("_codecs.encode needs a str and an encoding"));
                };
                self.latin1(text, &encoding).map(|b| Value::Bytes(Rc::new(b)))
            }
            Global::Bytes => {
                let args = self.args(args, "bytes", &[0, 1])?;
                match args.first() {
                    None => Ok(Value::Bytes(Rc::default())),
                    Some(Value::Bytes(b)) => Ok(Value::Bytes(Rc::clone(b))),
                    Some(other) => Err(self.error(format!("bytes() of a {} is not supported", other.type_name()))),
                }
            }
            Global::ByteArray => {
                let args = self.args(args, "bytearray", &[0, 1, 2])?;
                match args {
                    [] => Ok(Value::Bytes(Rc::default())),
                    [Value::Bytes(b)] => Ok(Value::Bytes(Rc::clone(b))),
                    [Value::Str(text), encoding] => {
                        let encoding =
                            encoding.as_text().ok_or_else(|| self.error("bytearray encoding is not a string"))?;
                        self.latin1(text, &encoding).map(|b| Value::Bytes(Rc::new(b)))
                    }
                    _ => Err(self.error("unsupported bytearray() arguments")),
                }
            }
            Global::Reconstruct => {
                let args = self.args(args, "numpy _reconstruct", &[3])?;
                if !matches!(args[0], Value::Global(Global::NdArray)) {
                    return Err(self.error(format!(
                        "numpy _reconstruct of a {} (only numpy.ndarray is supported)",
                        args[0].type_name()
                    )));
                }
                Ok(Value::Array(Rc::default()))
            }
            Global::Dtype => {
                let args = self.args(args, "numpy.dtype", &[1, 3])?;
                let name = args[0].as_text().ok_or_else(|| self.error("numpy.dtype needs a type name"))?;
                if !matches!(name.as_str(), "u1" | "|u1" | "uint8") {
                    return Err(self.error(format!("numpy dtype {name:?} is not supported (only uint8, \"u1\")")));
                }
                Ok(Value::Dtype)
            }
            Global::FromBuffer => {
                let args = self.args(args, "numpy _frombuffer", &[4])?;
                let Value::Bytes(buffer) = &args[0] else {
                    return Err(self.error(format!("numpy _frombuffer of a {}", args[0].type_name())));
                };
                self.expect_dtype(&args[1])?;
                let shape = self.shape(&args[2])?;
                let order = args[3].as_text().ok_or_else(|| self.error("numpy _frombuffer order is not a string"))?;
                let fortran = match order.as_str() {
                    "C" => false,
                    "F" => true,
                    other => return Err(self.error(format!("numpy array order {other:?} (expected \"C\" or \"F\")"))),
                };
                let array = self.make_array(shape, Rc::clone(buffer), fortran)?;
                Ok(Value::Array(Rc::new(RefCell::new(array))))
            }
            Global::NdArray => Err(self.error("calling numpy.ndarray directly is not supported")),
        }
    }

    fn latin1(&self, text: &str, encoding: &str) -> PResult<Vec<u8>> {
        if !matches!(encoding.to_ascii_lowercase().as_str(), "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1") {
            return Err(self.error(format!("byte strings encoded as {encoding:?} are not supported (only latin1)")));
        }
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| self.error(format!("character {c:?} is not latin1"))))
            .collect()
    }

    fn expect_dtype(&self, value: &Value) -> PResult<()> {
        match value {
            Value::Dtype => Ok(()),
            other => Err(self.error(format!("expected a numpy dtype, found a {}", other.type_name()))),
        }
    }

    fn shape(&self, value: &Value) -> PResult<Vec<usize>> {
        let Value::Tuple(dims) = value else {
            return Err(self.error(format!("array shape is a {}, not a tuple", value.type_name())));
        };
        dims.iter()
            .map(|d| match d {
                Value::Int(n) => usize::try_from(*n).map_err(|_| self.error(format!("negative array dimension {n}"))),
                other => Err(self.error(format!("array dimension is a {}", other.type_name()))),
            })
            .collect()
    }

    fn make_array(&self, shape: Vec<usize>, data: Rc<Vec<u8>>, fortran: bool) -> PResult<Array> {
        let expected = shape
            .iter()
            .try_fold(1_usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.error(format!("array shape {shape:?} is too large")))?;
        if data.len() != expected {
            return Err(self.error(format!(
                "array of shape {shape:?} needs {expected} bytes of uint8 data, the pickle holds {}",
                data.len()
            )));
        }
        let data = if fortran && shape.len() > 1 {
            if shape.len() != 2 {
                return Err(
                    self.error(format!("Fortran-ordered arrays of {} dimensions are not supported", shape.len()))
                );
            }
            let (rows, cols) = (shape[0], shape[1]);
            let mut c = vec![0_u8; expected];
            for (j, column) in data.chunks_exact(rows.max(1)).enumerate().take(cols) {
                for (i, &v) in column.iter().enumerate() {
                    c[i * cols + j] = v;
                }
            }
            Rc::new(c)
        } else {
            data
        };
        Ok(Array { shape, data: Some(data) })
    }

    fn build(&self, target: &Value, state: &Value) -> PResult<()> {
        match target {
            Value::Dtype => {
                let Value::Tuple(items) = state else {
                    return Err(self.error(format!("numpy dtype state is a {}", state.type_name())));
                };
                // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
                if items.len() >= 5 && !(matches!(items[2], Value::None) && matches!(items[3], Value::None)) {
                    return Err(self.error("structured or sub-array numpy dtypes are not supported"));
                }
                Ok(())
            }
            Value::Array(array) => {
                let Value::Tuple(items) = state else {
                    return Err(self.error(format!("numpy array state is a {}", state.type_name())));
                };
                // (version, shape, dtype, is_fortran, rawdata), or the same without version.
                let fields = match items.len() {
                    5 => &items[1..],
                    4 => &items[..],
                    n => return Err(self.error(format!("numpy array state has {n} items (expected 5)"))),
                };
                let shape = self.shape(&fields[0])?;
                self.expect_dtype(&fields[1])?;
                let fortran = match fields[2] {
                    Value::Bool(b) => b,
                    Value::Int(n) => n != 0,
                    ref other => return Err(self.error(format!("numpy is_fortran flag is a {}", other.type_name()))),
                };
                let data = match &fields[3] {
                    Value::Bytes(b) => Rc::clone(b),
                    Value::Str(s) => Rc::new(self.latin1(s, "latin1")?),
                    other => {
                        return Err(self.error(format!(
                            "numpy array data is a {} (object arrays are not supported)",
                            other.type_name()
                        )));
                    }
                };
                let built = self.make_array(shape, data, fortran)?;
                *array.borrow_mut() = built;
                Ok(())
            }
            other => Err(self.error(format!("BUILD on a {} is not supported", other.type_name()))),
        }
    }
}

/// Deepest tuple nesting accepted (numpy's array state needs 3).
const MAX_TUPLE_DEPTH: usize = 16;

/// Whether `value` holds no other values. Lists hold only such values and dicts only those and
/// lists, so containers can neither nest deeply nor form cycles (dropping a value never
/// recurses more than [`MAX_TUPLE_DEPTH`] + 2 levels, and nothing leaks).
fn is_leaf(value: &Value) -> bool {
    !matches!(value, Value::List(_) | Value::Dict(_) | Value::Tuple(_))
}

/// The nesting depth of a value: leaves 0, lists 1, dicts 2, tuples one more than their items.
fn depth(value: &Value) -> usize {
    match value {
        Value::Tuple(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Dict(_) => 2,
        Value::List(_) => 1,
        _ => 0,
    }
}

fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Bytes(a), Value::Bytes(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::None, Value::None) => true,
        _ => false,
    }
}

/// Writes pickles in the form Python 2's `cPickle.dump(obj, f, 2)` produces: `PROTO 2`, byte
/// strings as `SHORT_BINSTRING`/`BINSTRING`, every container and string memoized with
/// `BINPUT`/`LONG_BINPUT`, lists appended in groups of 1000.
#[derive(Debug, Default)]
pub(crate) struct Py2Writer {
    out: Vec<u8>,
    next_memo: u32,
}

impl Py2Writer {
    /// Starts a pickle (`PROTO 2`).
    pub(crate) fn new() -> Self {
        Self { out: vec![0x80, 2], next_memo: 1 }
    }

    /// Ends the pickle (`STOP`) and returns its bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.push(b'.');
        self.out
    }

    fn put(&mut self) {
        let index = self.next_memo;
        self.next_memo += 1;
        match u8::try_from(index) {
            Ok(i) => self.out.extend_from_slice(&[b'q', i]),
            Err(_) => {
                self.out.push(b'r');
                self.out.extend_from_slice(&index.to_le_bytes());
            }
        }
    }

    pub(crate) fn mark(&mut self) {
        self.out.push(b'(');
    }

    pub(crate) fn empty_dict(&mut self) {
        self.out.push(b'}');
        self.put();
    }

    pub(crate) fn set_items(&mut self) {
        self.out.push(b'u');
    }

    /// A Python 2 `str`.
    pub(crate) fn string(&mut self, bytes: &[u8]) {
        match u8::try_from(bytes.len()) {
            Ok(n) => self.out.extend_from_slice(&[b'U', n]),
            Err(_) => {
                self.out.push(b'T');
                let n = i32::try_from(bytes.len()).expect("CIFAR batches are far below 2 GiB");
                self.out.extend_from_slice(&n.to_le_bytes());
            }
        }
        self.out.extend_from_slice(bytes);
        self.put();
    }

    /// An `int` (`BININT1`, `BININT2` or `BININT`).
    pub(crate) fn int(&mut self, n: i32) {
        if let Ok(b) = u8::try_from(n) {
            self.out.extend_from_slice(&[b'K', b]);
        } else if let Ok(w) = u16::try_from(n) {
            self.out.push(b'M');
            self.out.extend_from_slice(&w.to_le_bytes());
        } else {
            self.out.push(b'J');
            self.out.extend_from_slice(&n.to_le_bytes());
        }
    }

    /// A list written by `write_item` for each item, appended in groups of 1000 as cPickle does.
    pub(crate) fn list<T>(&mut self, items: &[T], mut write_item: impl FnMut(&mut Self, &T)) {
        self.out.push(b']');
        self.put();
        for chunk in items.chunks(1000) {
            if let [only] = chunk {
                write_item(self, only);
                self.out.push(b'a');
            } else {
                self.mark();
                for item in chunk {
                    write_item(self, item);
                }
                self.out.push(b'e');
            }
        }
    }

    fn global(&mut self, module: &str, name: &str) {
        self.out.push(b'c');
        self.out.extend_from_slice(module.as_bytes());
        self.out.push(b'\n');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'\n');
        self.put();
    }

    /// A C-ordered `uint8` numpy array of shape `(rows, cols)`, as numpy 1.x under Python 2
    /// pickles it: `_reconstruct(ndarray, (0,), 'b')` then `BUILD` with
    /// `(1, (rows, cols), dtype('u1', 0, 1), False, data)`.
    pub(crate) fn uint8_matrix(&mut self, rows: usize, cols: usize, data: &[u8]) {
        let dim = |n: usize| i32::try_from(n).expect("CIFAR dimensions fit in an int");
        self.global("numpy.core.multiarray", "_reconstruct");
        self.global("numpy", "ndarray");
        self.int(0);
        self.out.push(0x85);
        self.put();
        self.string(b"b");
        self.out.push(0x87);
        self.put();
        self.out.push(b'R');
        self.put();
        self.mark();
        self.int(1);
        self.int(dim(rows));
        self.int(dim(cols));
        self.out.push(0x86);
        self.put();
        self.global("numpy", "dtype");
        self.string(b"u1");
        self.int(0);
        self.int(1);
        self.out.push(0x87);
        self.put();
        self.out.push(b'R');
        self.put();
        self.mark();
        self.int(3);
        self.string(b"|");
        self.out.extend_from_slice(b"NNN");
        self.int(-1);
        self.int(-1);
        self.int(0);
        self.out.push(b't');
        self.put();
        self.out.push(b'b');
        self.out.push(0x89);
        self.string(data);
        self.out.push(b't');
        self.put();
        self.out.push(b'b');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_err(data: &[u8]) -> PickleError {
        load(data).expect_err("must fail")
    }

    #[test]
    fn writer_output_reads_back() {
        let mut w = Py2Writer::new();
        w.empty_dict();
        w.mark();
        w.string(b"data");
        w.uint8_matrix(2, 3, &[1, 2, 3, 4, 5, 6]);
        w.string(b"labels");
        w.list(&[7_i32, 300, 70_000], |w, &n| w.int(n));
        w.set_items();
        let value = load(&w.finish()).expect("load");
        let Some(Value::Array(array)) = value.get("data") else { panic!("no array") };
        let array = array.borrow();
        assert_eq!(array.shape, vec![2, 3]);
        assert_eq!(array.data.as_deref().map(Vec::as_slice), Some(&[1_u8, 2, 3, 4, 5, 6][..]));
        let labels: Vec<i64> = value
            .get("labels")
            .and_then(|l| l.items())
            .expect("labels")
            .iter()
            .map(|v| match v {
                Value::Int(n) => *n,
                _ => -1,
            })
            .collect();
        assert_eq!(labels, vec![7, 300, 70_000]);
    }

    #[test]
    fn unknown_global_is_refused_by_name() {
        let err = load_err(b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00ls\x85R.");
        assert!(err.message.contains("os.system"), "{err}");
        assert_eq!(err.offset, 2);
    }

    #[test]
    fn unknown_opcode_and_truncation_are_errors() {
        let err = load_err(b"\x80\x02\xff.");
        assert!(err.message.contains("0xff"), "{err}");
        let err = load_err(b"\x80\x02X\x10\x00\x00\x00abc");
        assert!(err.message.contains("truncated"), "{err}");
        let err = load_err(b"\x80\x02}");
        assert!(err.message.contains("STOP"), "{err}");
    }

    #[test]
    fn nested_containers_are_refused() {
        // [[]] via APPEND, and a list appended to itself through the memo.
        let err = load_err(b"\x80\x02]]a.");
        assert!(err.message.contains("a list holding a list"), "{err}");
        let err = load_err(b"\x80\x02]q\x00h\x00a.");
        assert!(err.message.contains("a list holding a list"), "{err}");
        // {1: {}}
        let err = load_err(b"\x80\x02}K\x01}s.");
        assert!(err.message.contains("a dict value that is a dict"), "{err}");
        // 17 nested 1-tuples.
        let mut deep = b"\x80\x02N".to_vec();
        deep.extend(std::iter::repeat_n(0x85_u8, 17));
        deep.push(b'.');
        assert!(load_err(&deep).message.contains("nested more than 16"));
        let mut ok = b"\x80\x02N".to_vec();
        ok.extend(std::iter::repeat_n(0x85_u8, 16));
        ok.push(b'.');
        assert!(load(&ok).is_ok());
    }

    #[test]
    fn long1_is_signed_little_endian() {
        let value = load(b"\x80\x02\x8a\x02\xff\x7f.").expect("load");
        assert!(matches!(value, Value::Int(0x7fff)));
        let value = load(b"\x80\x02\x8a\x01\xff.").expect("load");
        assert!(matches!(value, Value::Int(-1)));
    }

    #[test]
    fn wrong_dtype_and_wrong_length_are_errors() {
        let err = load_err(b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R.");
        assert!(err.message.contains("\"f8\""), "{err}");
        let mut w = Py2Writer::new();
        w.uint8_matrix(2, 3, &[1, 2, 3, 4, 5]);
        let err = load_err(&w.finish());
        assert!(err.message.contains("needs 6 bytes"), "{err}");
    }

    #[test]
    fn fortran_order_is_transposed() {
        // _frombuffer(b'\x01\x02\x03\x04\x05\x06', dtype('u1'), (2, 3), 'F')
        let pickle = b"\x80\x05cnumpy._core.numeric\n_frombuffer\n(C\x06\x01\x02\x03\x04\x05\x06cnumpy\ndtype\nX\x02\x00\x00\x00u1\x89\x88\x87RK\x02K\x03\x86X\x01\x00\x00\x00FtR.";
        let Value::Array(array) = load(pickle).expect("load") else { panic!("not an array") };
        let array = array.borrow();
        assert_eq!(array.shape, vec![2, 3]);
        assert_eq!(array.data.as_deref().map(Vec::as_slice), Some(&[1_u8, 3, 5, 2, 4, 6][..]));
    }
}
