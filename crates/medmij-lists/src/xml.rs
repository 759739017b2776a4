//! The streaming validator shared by the four lists.
//!
//! One pass over quick-xml events, no DOM. The content model of each list
//! is a small static table ([`Schema`]); a per-list [`Builder`] turns the
//! validated values into the model. Checks, in the order they apply:
//!
//! * input size, UTF-8, XML 1.0 characters, no DOCTYPE (hostile input,
//!   LISTS-7);
//! * well-formedness as quick-xml checks it, plus: the XML declaration only
//!   at the start and only for UTF-8, no reserved PI targets, no `]]>` in
//!   text, only the five predefined entities and valid character references;
//! * XML Namespaces: prefixes resolve, every element is in the list's
//!   namespace, only `xsi:schemaLocation` / `xsi:noNamespaceSchemaLocation`
//!   as attributes;
//! * the content model: element names, order and cardinality, no text in
//!   element-only content (LISTS-1, LISTS-4, LISTS-5, LISTS-6,
//!   LISTS-15);
//! * simple-type facets and uniqueness through the builder (LISTS-1, LISTS-2,
//!   LISTS-3, LISTS-4, LISTS-5, LISTS-6, LISTS-15).

use crate::ParseOptions;
use crate::error::{
    ErrorKind, InvalidValue, ParseError, ParseErrors, Position, RuleId, resolve_positions,
};
use crate::index::KeySet;
use quick_xml::Reader;
use quick_xml::events::Event;
use std::borrow::Cow;

/// Index of an element declaration in [`Schema::elems`].
pub(crate) type ElemId = usize;

/// One child in a sequence: `min` is 0 or 1, `many` means unbounded.
pub(crate) struct Particle {
    pub(crate) elem: ElemId,
    pub(crate) min: u8,
    pub(crate) many: bool,
}

impl Particle {
    /// Exactly one occurrence.
    pub(crate) const fn one(elem: ElemId) -> Self {
        Self {
            elem,
            min: 1,
            many: false,
        }
    }

    /// Zero or one occurrence.
    pub(crate) const fn opt(elem: ElemId) -> Self {
        Self {
            elem,
            min: 0,
            many: false,
        }
    }

    /// `min` (0 or 1) to unbounded occurrences.
    pub(crate) const fn many(elem: ElemId, min: u8) -> Self {
        Self {
            elem,
            min,
            many: true,
        }
    }
}

pub(crate) enum Content {
    /// Text only (a simple type; the builder checks its facets).
    Simple,
    /// A sequence of child elements.
    Complex(&'static [Particle]),
}

pub(crate) struct ElemDecl {
    pub(crate) name: &'static str,
    pub(crate) content: Content,
}

impl ElemDecl {
    /// An element with text content.
    pub(crate) const fn simple(name: &'static str) -> Self {
        Self {
            name,
            content: Content::Simple,
        }
    }

    /// An element with a sequence of child elements.
    pub(crate) const fn complex(name: &'static str, children: &'static [Particle]) -> Self {
        Self {
            name,
            content: Content::Complex(children),
        }
    }
}

/// The content model of one list release.
pub(crate) struct Schema {
    pub(crate) namespace: &'static str,
    /// The root is element 0.
    pub(crate) elems: &'static [ElemDecl],
    /// The rule that defines the structure (e.g. LISTS-1 for the ZAL).
    pub(crate) rule: RuleId,
}

/// What [`Schema::elem`] gives for an index outside the table; the
/// schemas' own indexes are all in range (the test
/// `schema_indexes_are_in_range` checks every release of every list).
static NO_ELEM: ElemDecl = ElemDecl::simple("?");

impl Schema {
    /// Element `i` of the table (the root is 0).
    #[inline(always)]
    pub(crate) fn elem(&self, i: ElemId) -> &ElemDecl {
        self.elems.get(i).unwrap_or(&NO_ELEM)
    }
}

/// A problem a builder found in a value.
pub(crate) enum Fault {
    Value(InvalidValue),
    Duplicate {
        value: String,
        first_offset: usize,
        rule: RuleId,
    },
}

/// Records `key` (of the element at `offset`) in `keys`; a key seen before
/// is the fault of a uniqueness rule (`rule`: LISTS-2, LISTS-4, LISTS-5, LISTS-6
/// or LISTS-15).
pub(crate) fn unique(
    keys: &mut KeySet,
    key: &str,
    offset: usize,
    rule: RuleId,
) -> Result<(), Fault> {
    match keys.insert(key, offset) {
        None => Ok(()),
        Some(first_offset) => Err(Fault::Duplicate {
            value: key.to_owned(),
            first_offset,
            rule,
        }),
    }
}

/// A facet-checked value, or the fault to report.
pub(crate) fn value<T>(r: Result<T, InvalidValue>) -> Result<T, Fault> {
    r.map_err(Fault::Value)
}

/// Receives the validated document, element by element.
pub(crate) trait Builder {
    /// A complex element starts at byte `offset`.
    fn start(&mut self, elem: ElemId, offset: usize);
    /// The complete text of a simple element that started at `offset`.
    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault>;
    /// A complex element ends.
    fn end(&mut self, elem: ElemId) -> Result<(), Fault>;
}

pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

struct Frame {
    elem: ElemId,
    /// Current particle and how often it matched (complex content).
    particle: usize,
    count: usize,
    /// 1-based occurrence among its siblings, for repeated elements.
    index: usize,
    /// Length of the namespace binding stack before this element.
    ns_mark: usize,
    /// Byte offset of the start tag's `<`.
    start: usize,
    /// Length of the start tag's qualified name, which follows the `<`; the
    /// end tag must repeat it (checked here rather than by quick-xml, whose
    /// own check keeps a second name stack).
    qname_len: usize,
}

struct Binding {
    prefix: String,
    uri: String,
    /// Whether `uri` is the namespace of the list being validated, decided
    /// once per declaration rather than compared at every element.
    is_target: bool,
}

/// The root element of a document, as found before the content model is
/// known.
pub(crate) struct Root {
    pub(crate) local: String,
    pub(crate) namespace: Option<String>,
    pub(crate) offset: usize,
    pub(crate) qname_len: usize,
}

pub(crate) struct Driver<'a> {
    input: &'a [u8],
    /// Bytes before `text` in `input` (a UTF-8 byte order mark).
    base: usize,
    reader: Reader<&'a [u8]>,
    opts: &'a ParseOptions,
    bindings: Vec<Binding>,
    /// Whether the root element was an empty-element tag.
    root_empty: bool,
    /// The namespace of the list being validated, once known.
    target: Option<&'static str>,
    errors: Vec<ParseError>,
}

/// Whether `s` is only XML whitespace. `s` must be a slice of the input,
/// which [`Driver::new`] checked for XML characters: then its only bytes up
/// to 0x20 are space, tab, line feed and carriage return, and the test is a
/// word-wise comparison.
fn is_xml_ws(s: &str) -> bool {
    let ws = crate::scan::all_le_space(s.as_bytes());
    debug_assert_eq!(
        ws,
        s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    );
    ws
}

/// Appends literal text with XML end-of-line normalization (CR LF and lone
/// CR become LF).
fn push_normalized(buf: &mut String, s: &str) {
    if !s.contains('\r') {
        buf.push_str(s);
        return;
    }
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            buf.push('\n');
        } else {
            buf.push(c);
        }
    }
}

/// Resolves `&name;` (without `&` and `;`): the five predefined entities and
/// character references. Anything else is undefined (there is no DTD).
fn resolve_reference(name: &str) -> Result<char, String> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let num = if let Some(hex) = name.strip_prefix("#x") {
                (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
            } else if let Some(dec) = name.strip_prefix('#') {
                (!dec.is_empty() && dec.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| dec.parse::<u32>().ok())
                    .flatten()
            } else {
                return Err(format!("undefined entity &{name};"));
            };
            match num.and_then(char::from_u32) {
                Some(c) if medmij_types::is_xml_char(c) => c,
                _ => {
                    return Err(format!(
                        "character reference &{name}; is not an XML character"
                    ));
                }
            }
        }
    };
    Ok(c)
}

impl<'a> Driver<'a> {
    /// Checks size, encoding and characters, and reads up to the root
    /// element.
    pub(crate) fn new(
        input: &'a [u8],
        opts: &'a ParseOptions,
    ) -> Result<(Self, Root), ParseErrors> {
        let hostile = |kind: ErrorKind, offset: usize| {
            ParseErrors(vec![ParseError {
                kind,
                rule: RuleId::Lists7,
                position: Position::locate(input, offset),
                path: String::new(),
            }])
        };
        if input.len() > opts.max_input_size {
            return Err(hostile(
                ErrorKind::TooLarge {
                    limit: opts.max_input_size,
                },
                0,
            ));
        }
        let (base, body) = match input.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => (3, rest),
            None => (0, input),
        };
        let text = match std::str::from_utf8(body) {
            Ok(t) => t,
            Err(e) => return Err(hostile(ErrorKind::NotUtf8, base + e.valid_up_to())),
        };
        if let Some((at, c)) = medmij_types::first_non_xml_char(text) {
            let mut e = hostile(ErrorKind::IllegalCharacter(c), base + at);
            for err in &mut e.0 {
                err.rule = RuleId::Lists7;
            }
            return Err(e);
        }
        let mut reader = Reader::from_str(text);
        let cfg = reader.config_mut();
        cfg.check_comments = true;
        // End tags are matched against our own element stack in `run`.
        cfg.check_end_names = false;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        let mut driver = Driver {
            input,
            base,
            reader,
            opts,
            bindings: Vec::new(),
            root_empty: false,
            target: None,
            errors: Vec::new(),
        };
        let root = driver.read_prolog()?;
        Ok((driver, root))
    }

    /// A position known only by its byte offset; [`Driver::finish`] fills in
    /// line and column for all errors at once.
    fn position(&self, offset: usize) -> Position {
        Position {
            line: 0,
            column: 0,
            offset: self.base + offset,
        }
    }

    /// The collected errors, with line and column resolved in one sweep.
    fn finish(&self, mut errors: Vec<ParseError>) -> ParseErrors {
        resolve_positions(self.input, &mut errors);
        ParseErrors(errors)
    }

    fn fatal(&mut self, kind: ErrorKind, rule: RuleId, offset: usize, path: String) -> ParseErrors {
        let position = self.position(offset);
        let mut errors = std::mem::take(&mut self.errors);
        errors.push(ParseError {
            kind,
            rule,
            position,
            path,
        });
        self.finish(errors)
    }

    fn malformed(&mut self, msg: String, offset: usize) -> ParseErrors {
        self.fatal(
            ErrorKind::Malformed(msg),
            RuleId::Lists7,
            offset,
            String::new(),
        )
    }

    /// Inlined into the event loop: returning the event through a second
    /// call frame cost a copy and a store-forwarding stall per event.
    #[inline(always)]
    fn next_event(&mut self) -> Result<(usize, Event<'a>), ParseErrors> {
        let at = self.reader.buffer_position() as usize;
        match self.reader.read_event() {
            Ok(ev) => Ok((at, ev)),
            Err(e) => Err(self.reader_error(e)),
        }
    }

    #[cold]
    #[inline(never)]
    fn reader_error(&mut self, e: quick_xml::Error) -> ParseErrors {
        let pos = self.reader.error_position() as usize;
        self.malformed(e.to_string(), pos)
    }

    /// Handles events outside the root element; returns `false` on the
    /// root start tag or end of input.
    fn misc(&mut self, at: usize, ev: &Event<'a>) -> Result<(), ParseErrors> {
        match ev {
            Event::Text(t) if is_xml_ws(t) => Ok(()),
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                Err(self.malformed("character data outside the root element".into(), at))
            }
            Event::Comment(_) => Ok(()),
            Event::PI(pi) => self.check_pi(at, pi.target()),
            Event::Decl(_) => Err(self.malformed(
                "the XML declaration is only allowed at the very start".into(),
                at,
            )),
            Event::DocType(_) => {
                Err(self.fatal(ErrorKind::Doctype, RuleId::Lists7, at, String::new()))
            }
            Event::End(_) => Err(self.malformed("end tag outside the root element".into(), at)),
            Event::Start(_) | Event::Empty(_) | Event::Eof => Ok(()),
        }
    }

    fn check_pi(&mut self, at: usize, target: &str) -> Result<(), ParseErrors> {
        if target.eq_ignore_ascii_case("xml") {
            Err(self.malformed(
                format!("processing instruction target {target:?} is reserved"),
                at,
            ))
        } else if target.is_empty() {
            Err(self.malformed("processing instruction without target".into(), at))
        } else {
            Ok(())
        }
    }

    fn read_prolog(&mut self) -> Result<Root, ParseErrors> {
        loop {
            let (at, ev) = self.next_event()?;
            match ev {
                Event::Decl(ref d) if at == 0 => {
                    let version = d.version().map_err(|e| self.malformed(e.to_string(), at))?;
                    if &*version != "1.0" {
                        return Err(
                            self.malformed(format!("XML version {version} is not supported"), at)
                        );
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| self.malformed(e.to_string(), at))?;
                        if !enc.eq_ignore_ascii_case("utf-8") {
                            return Err(self.fatal(
                                ErrorKind::NotUtf8,
                                RuleId::Lists7,
                                at,
                                String::new(),
                            ));
                        }
                    }
                    if let Some(sa) = d.standalone() {
                        let sa = sa.map_err(|e| self.malformed(e.to_string(), at))?;
                        if sa != "yes" && sa != "no" {
                            return Err(self.malformed("standalone must be yes or no".into(), at));
                        }
                    }
                }
                Event::Start(ref e) | Event::Empty(ref e) => {
                    self.root_empty = matches!(ev, Event::Empty(_));
                    let (prefix, local) = split_qname(e.name().0);
                    self.push_bindings(e, at, RuleId::Lists7, &|| format!("/{local}"))?;
                    let namespace = self.resolve(prefix).map(str::to_owned);
                    if namespace.is_none() && !prefix.is_empty() {
                        return Err(
                            self.malformed(format!("unbound namespace prefix {prefix:?}"), at)
                        );
                    }
                    let root = Root {
                        local: local.to_owned(),
                        namespace,
                        offset: at,
                        qname_len: e.name().0.len(),
                    };
                    return Ok(root);
                }
                Event::Eof => return Err(self.malformed("no root element".into(), at)),
                ref other => self.misc(at, other)?,
            }
        }
    }

    fn resolve(&self, prefix: &str) -> Option<&str> {
        self.resolve_binding(prefix).map(|(uri, _)| uri)
    }

    /// The namespace bound to `prefix`, and whether it is the list's.
    fn resolve_binding(&self, prefix: &str) -> Option<(&str, bool)> {
        if prefix == "xml" {
            return Some((XML_NS, false));
        }
        self.bindings
            .iter()
            .rev()
            .find(|b| short_eq(&b.prefix, prefix))
            .filter(|b| !b.uri.is_empty())
            .map(|b| (b.uri.as_str(), b.is_target))
    }

    /// Pushes the element's namespace declarations and checks its other
    /// attributes; an undeclared attribute is reported under `rule` at the
    /// element `path` gives.
    #[inline(always)]
    fn push_bindings(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        at: usize,
        rule: RuleId,
        path: &dyn Fn() -> String,
    ) -> Result<(), ParseErrors> {
        // Nearly every element has no attributes: decide that inline.
        let raw = e.attributes_raw();
        if raw.is_empty() || is_xml_ws(raw) {
            return Ok(());
        }
        self.push_attributes(e, at, rule, path)
    }

    /// The attribute part of [`Driver::push_bindings`].
    #[inline(never)]
    fn push_attributes(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        at: usize,
        rule: RuleId,
        path: &dyn Fn() -> String,
    ) -> Result<(), ParseErrors> {
        let mut others: Vec<(String, String)> = Vec::new();
        let mut attrs = e.attributes();
        attrs.with_checks(true);
        for attr in attrs {
            let attr = attr.map_err(|err| self.malformed(err.to_string(), at))?;
            let key = attr.key.0;
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|err| self.malformed(err.to_string(), at))?
                .into_owned();
            if key == "xmlns" {
                let is_target = Some(value.as_str()) == self.target;
                self.bindings.push(Binding {
                    prefix: String::new(),
                    uri: value,
                    is_target,
                });
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() || p == "xmlns" || (p == "xml") != (value == XML_NS) {
                    return Err(
                        self.malformed(format!("invalid namespace declaration xmlns:{p}"), at)
                    );
                }
                let is_target = Some(value.as_str()) == self.target;
                self.bindings.push(Binding {
                    prefix: p.to_owned(),
                    uri: value,
                    is_target,
                });
            } else {
                others.push((key.to_owned(), value));
            }
        }
        let mut seen_xsi: Vec<&str> = Vec::new();
        for (key, _value) in &others {
            let (prefix, local) = split_qname(key);
            let allowed = !prefix.is_empty()
                && match self.resolve(prefix) {
                    None => {
                        return Err(
                            self.malformed(format!("unbound namespace prefix {prefix:?}"), at)
                        );
                    }
                    Some(ns) => {
                        ns == XSI && matches!(local, "schemaLocation" | "noNamespaceSchemaLocation")
                    }
                };
            if !allowed {
                return Err(self.fatal(
                    ErrorKind::UnexpectedAttribute { name: key.clone() },
                    rule,
                    at,
                    path(),
                ));
            }
            if seen_xsi.contains(&local) {
                return Err(self.malformed(format!("duplicate attribute xsi:{local}"), at));
            }
            seen_xsi.push(if local == "schemaLocation" {
                "schemaLocation"
            } else {
                "noNamespaceSchemaLocation"
            });
        }
        Ok(())
    }

    /// Validates the document from the root down against `schema`, feeding
    /// `builder`.
    pub(crate) fn run<B: Builder>(
        mut self,
        schema: &Schema,
        root: &Root,
        builder: &mut B,
    ) -> Result<(), ParseErrors> {
        self.target = Some(schema.namespace);
        for b in &mut self.bindings {
            b.is_target = b.uri == schema.namespace;
        }
        let root_decl = schema.elem(0);
        if root.local != root_decl.name || root.namespace.as_deref() != Some(schema.namespace) {
            let kind = ErrorKind::UnknownRoot {
                name: root.local.clone(),
                namespace: root.namespace.clone(),
            };
            return Err(self.fatal(kind, schema.rule, root.offset, String::new()));
        }
        let mut stack: Vec<Frame> = Vec::with_capacity(16);
        // A simple element's value: borrowed from the input when it is one
        // chunk of text without carriage returns (the common case), else
        // assembled in `text`.
        let mut text = String::new();
        let mut borrowed: Option<&'a str> = None;
        let mut owned = false;
        let mut text_start = 0usize;
        stack.push(Frame {
            elem: 0,
            particle: 0,
            count: 0,
            index: 0,
            ns_mark: 0,
            start: root.offset,
            qname_len: root.qname_len,
        });
        builder.start(0, root.offset);
        let mut pending_end = self.root_empty;
        // Whether the open element has simple content. Only complex
        // elements have children, so it is false again after every close.
        let mut simple = false;
        loop {
            if pending_end {
                pending_end = false;
                let value = borrowed.unwrap_or(&text);
                self.close(schema, &mut stack, value, text_start, builder)?;
                simple = false;
                if stack.is_empty() {
                    break;
                }
                continue;
            }
            let at = self.reader.buffer_position() as usize;
            // The event is matched where the reader returned it, by
            // reference: moving it out cost a 16-byte copy whose loads
            // stalled on the reader's 8-byte stores (store forwarding).
            let result = self.reader.read_event();
            let ev = match result {
                Ok(ref ev) => ev,
                Err(e) => return Err(self.reader_error(e)),
            };
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    let ns_mark = self.bindings.len();
                    let (prefix, local) = split_qname(e.name().0);
                    self.push_bindings(e, at, schema.rule, &|| {
                        path_of(schema, &stack, Some(local))
                    })?;
                    let resolved = self.resolve_binding(prefix);
                    if !resolved.is_some_and(|(_, is_target)| is_target) {
                        let ns = resolved.map(|(uri, _)| uri);
                        if ns.is_none() && !prefix.is_empty() {
                            return Err(
                                self.malformed(format!("unbound namespace prefix {prefix:?}"), at)
                            );
                        }
                        let ns = ns.map(str::to_owned);
                        let path = path_of(schema, &stack, None);
                        let kind = ErrorKind::WrongNamespace {
                            element: local.to_owned(),
                            found: ns,
                            expected: schema.namespace,
                        };
                        return Err(self.fatal(kind, schema.rule, at, path));
                    }
                    if stack.len() >= self.opts.max_depth {
                        let path = path_of(schema, &stack, None);
                        let kind = ErrorKind::LimitExceeded {
                            limit: "max_depth",
                            value: self.opts.max_depth,
                        };
                        return Err(self.fatal(kind, RuleId::Lists7, at, path));
                    }
                    let (child, index) = self.match_child(schema, &mut stack, local, at)?;
                    stack.push(Frame {
                        elem: child,
                        particle: 0,
                        count: 0,
                        index,
                        ns_mark,
                        start: at,
                        qname_len: e.name().0.len(),
                    });
                    match schema.elem(child).content {
                        Content::Simple => {
                            text.clear();
                            borrowed = None;
                            owned = false;
                            text_start = at;
                            simple = true;
                        }
                        Content::Complex(_) => builder.start(child, at),
                    }
                    pending_end = empty;
                }
                Event::End(e) => {
                    let open = stack.last().map_or(&[][..], |f| {
                        let start = self.base + f.start + 1;
                        self.input
                            .get(start..start + f.qname_len)
                            .unwrap_or_default()
                    });
                    if !crate::scan::bytes_eq(open, e.name().0.as_bytes()) {
                        let msg = format!(
                            "end tag </{}> does not match start tag <{}>",
                            e.name().0,
                            String::from_utf8_lossy(open)
                        );
                        return Err(self.malformed(msg, at));
                    }
                    let value = borrowed.unwrap_or(&text);
                    self.close(schema, &mut stack, value, text_start, builder)?;
                    simple = false;
                    if stack.is_empty() {
                        break;
                    }
                }
                Event::Text(t) => {
                    // Borrowed (a copied pointer) for the slice reader.
                    let t = t.clone().into_inner();
                    if simple {
                        // One word-wise pass over the (short) value
                        // instead of a memchr call per question.
                        let special = crate::scan::contains2(t.as_bytes(), b']', b'\r');
                        if special && t.contains("]]>") {
                            return Err(self.malformed("']]>' is not allowed in text".into(), at));
                        }
                        match t {
                            Cow::Borrowed(b) if !owned && borrowed.is_none() && !special => {
                                borrowed = Some(b);
                            }
                            t => {
                                if let Some(b) = borrowed.take() {
                                    text.push_str(b);
                                }
                                owned = true;
                                push_normalized(&mut text, &t);
                            }
                        }
                    } else if !is_xml_ws(&t) {
                        let path = path_of(schema, &stack, None);
                        return Err(self.fatal(ErrorKind::UnexpectedText, schema.rule, at, path));
                    }
                }
                Event::CData(t) => {
                    if simple {
                        if let Some(b) = borrowed.take() {
                            text.push_str(b);
                        }
                        owned = true;
                        push_normalized(&mut text, t);
                    } else {
                        let path = path_of(schema, &stack, None);
                        return Err(self.fatal(ErrorKind::UnexpectedText, schema.rule, at, path));
                    }
                }
                Event::GeneralRef(r) => {
                    let c = resolve_reference(r).map_err(|m| self.malformed(m, at))?;
                    if simple {
                        if let Some(b) = borrowed.take() {
                            text.push_str(b);
                        }
                        owned = true;
                        text.push(c);
                    } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
                        let path = path_of(schema, &stack, None);
                        return Err(self.fatal(ErrorKind::UnexpectedText, schema.rule, at, path));
                    }
                }
                Event::Comment(_) => {}
                Event::PI(pi) => self.check_pi(at, pi.target())?,
                Event::Decl(_) => {
                    return Err(self.malformed(
                        "the XML declaration is only allowed at the very start".into(),
                        at,
                    ));
                }
                Event::DocType(_) => {
                    return Err(self.fatal(ErrorKind::Doctype, RuleId::Lists7, at, String::new()));
                }
                Event::Eof => {
                    return Err(
                        self.malformed("unexpected end of input: unclosed element".into(), at)
                    );
                }
            }
            if self.errors.len() >= self.opts.max_errors {
                let errors = std::mem::take(&mut self.errors);
                return Err(self.finish(errors));
            }
        }
        // After the root: only whitespace, comments and PIs.
        loop {
            let (at, ev) = self.next_event()?;
            match ev {
                Event::Eof => break,
                Event::Start(_) | Event::Empty(_) => {
                    return Err(self.malformed("only one root element is allowed".into(), at));
                }
                ref other => self.misc(at, other)?,
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            let errors = std::mem::take(&mut self.errors);
            Err(self.finish(errors))
        }
    }

    /// Matches a child element against the parent's sequence.
    #[inline(always)]
    fn match_child(
        &mut self,
        schema: &Schema,
        stack: &mut [Frame],
        local: &str,
        at: usize,
    ) -> Result<(ElemId, usize), ParseErrors> {
        let max_entries = self.opts.max_entries;
        let Some(frame) = stack.last_mut() else {
            return Err(self.malformed("element outside the root".into(), at));
        };
        let Content::Complex(particles) = schema.elem(frame.elem).content else {
            return Err(self.child_error(schema, stack, local, at, ChildError::InSimple));
        };
        loop {
            let Some(part) = particles.get(frame.particle) else {
                return Err(self.child_error(schema, stack, local, at, ChildError::AfterEnd));
            };
            if short_eq(schema.elem(part.elem).name, local) && (part.many || frame.count == 0) {
                frame.count += 1;
                if part.many && frame.count > max_entries {
                    return Err(self.child_error(schema, stack, local, at, ChildError::TooMany));
                }
                let index = if part.many { frame.count } else { 0 };
                return Ok((part.elem, index));
            }
            if frame.count >= usize::from(part.min) {
                frame.particle += 1;
                frame.count = 0;
            } else {
                let expected = schema.elem(part.elem).name;
                return Err(self.child_error(
                    schema,
                    stack,
                    local,
                    at,
                    ChildError::Expected(expected),
                ));
            }
        }
    }

    /// The error of [`Driver::match_child`], built out of line.
    #[cold]
    #[inline(never)]
    fn child_error(
        &mut self,
        schema: &Schema,
        stack: &[Frame],
        local: &str,
        at: usize,
        error: ChildError,
    ) -> ParseErrors {
        let path = path_of(schema, stack, None);
        let (kind, rule) = match error {
            ChildError::InSimple => (
                ErrorKind::UnexpectedElement {
                    found: local.to_owned(),
                    expected: "text".into(),
                },
                schema.rule,
            ),
            ChildError::AfterEnd => {
                let parent = stack.last().map_or(0, |f| f.elem);
                (
                    ErrorKind::UnexpectedElement {
                        found: local.to_owned(),
                        expected: format!("the end of {}", schema.elem(parent).name),
                    },
                    schema.rule,
                )
            }
            ChildError::TooMany => (
                ErrorKind::LimitExceeded {
                    limit: "max_entries",
                    value: self.opts.max_entries,
                },
                RuleId::Lists7,
            ),
            ChildError::Expected(name) => (
                ErrorKind::UnexpectedElement {
                    found: local.to_owned(),
                    expected: name.to_owned(),
                },
                schema.rule,
            ),
        };
        self.fatal(kind, rule, at, path)
    }

    /// Closes the top element: checks that no required child is missing,
    /// hands a simple element's value to the builder.
    #[inline(always)]
    fn close<B: Builder>(
        &mut self,
        schema: &Schema,
        stack: &mut Vec<Frame>,
        text: &str,
        text_start: usize,
        builder: &mut B,
    ) -> Result<(), ParseErrors> {
        let Some(frame) = stack.last() else {
            let at = self.reader.buffer_position() as usize;
            return Err(self.malformed("unbalanced end tag".into(), at));
        };
        let elem = frame.elem;
        let result = match schema.elem(elem).content {
            Content::Simple => builder.value(elem, text, text_start),
            Content::Complex(particles) => {
                let mut p = frame.particle;
                let mut count = frame.count;
                while let Some(part) = particles.get(p) {
                    if count < usize::from(part.min) {
                        return Err(self.missing_element(schema, stack, part.elem));
                    }
                    p += 1;
                    count = 0;
                }
                builder.end(elem)
            }
        };
        if let Err(fault) = result {
            self.record_fault(schema, stack, fault, text_start);
        }
        if let Some(frame) = stack.pop() {
            self.bindings.truncate(frame.ns_mark);
        }
        Ok(())
    }

    /// The error of a complex element that ends before its required child
    /// `missing`.
    #[cold]
    #[inline(never)]
    fn missing_element(
        &mut self,
        schema: &Schema,
        stack: &[Frame],
        missing: ElemId,
    ) -> ParseErrors {
        let at = self.reader.buffer_position() as usize;
        let path = path_of(schema, stack, None);
        let kind = ErrorKind::MissingElement {
            expected: schema.elem(missing).name,
        };
        self.fatal(kind, schema.rule, at, path)
    }

    /// Records the builder's fault for the top element (a simple one
    /// starting at `text_start`, or a complex one).
    #[cold]
    #[inline(never)]
    fn record_fault(&mut self, schema: &Schema, stack: &[Frame], fault: Fault, text_start: usize) {
        let Some(frame) = stack.last() else {
            return;
        };
        let elem = frame.elem;
        let path = path_of(schema, stack, None);
        let element = schema.elem(elem).name;
        let start = if matches!(schema.elem(elem).content, Content::Simple) {
            text_start
        } else {
            frame.start
        };
        let position = self.position(start);
        let error = match fault {
            Fault::Value(v) => ParseError {
                rule: v.rule,
                kind: ErrorKind::InvalidValue {
                    element,
                    value: v.value,
                    violation: v.violation,
                },
                position,
                path,
            },
            Fault::Duplicate {
                value,
                first_offset,
                rule,
            } => {
                // Duplicates are reported on the element whose value
                // repeats (the key child), at the repeating entry.
                ParseError {
                    rule,
                    kind: ErrorKind::Duplicate {
                        element,
                        value,
                        first: self.position(first_offset),
                    },
                    position,
                    path,
                }
            }
        };
        self.errors.push(error);
    }
}

/// Why [`Driver::match_child`] refused a child element.
enum ChildError {
    /// The parent has simple content.
    InSimple,
    /// The parent's sequence is complete.
    AfterEnd,
    /// More than `max_entries` repetitions.
    TooMany,
    /// A required element (named) comes first.
    Expected(&'static str),
}

/// Equality for the short strings of element names and prefixes. A plain
/// `==` calls `memcmp`, whose fixed cost dominated profiles of the
/// per-element name and prefix checks.
fn short_eq(a: &str, b: &str) -> bool {
    crate::scan::bytes_eq(a.as_bytes(), b.as_bytes())
}

#[inline(always)]
fn split_qname(q: &str) -> (&str, &str) {
    match crate::scan::find(q.as_bytes(), b':') {
        Some(i) => (&q[..i], &q[i + 1..]),
        None => ("", q),
    }
}

/// `/Root/Child[3]/Leaf` for the open elements (plus an optional leaf).
fn path_of(schema: &Schema, stack: &[Frame], leaf: Option<&str>) -> String {
    let mut p = String::new();
    for f in stack {
        p.push('/');
        p.push_str(schema.elem(f.elem).name);
        if f.index > 0 {
            p.push_str(&format!("[{}]", f.index));
        }
    }
    if let Some(l) = leaf {
        p.push('/');
        p.push_str(l);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_indexes_are_in_range() {
        let schemas = crate::ZalRelease::ALL
            .iter()
            .map(|r| r.schema())
            .chain(crate::OclRelease::ALL.iter().map(|r| r.schema()))
            .chain(crate::GnlRelease::ALL.iter().map(|r| r.schema()))
            .chain(crate::WhlRelease::ALL.iter().map(|r| r.schema()));
        let mut n = 0;
        for schema in schemas {
            assert!(!schema.elems.is_empty(), "{}", schema.namespace);
            for decl in schema.elems {
                if let Content::Complex(particles) = decl.content {
                    for p in particles {
                        assert!(
                            p.elem < schema.elems.len(),
                            "{}: {}",
                            schema.namespace,
                            decl.name
                        );
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 20, "only {n} particles checked");
    }

    #[test]
    fn references() {
        assert_eq!(resolve_reference("amp"), Ok('&'));
        assert_eq!(resolve_reference("#x41"), Ok('A'));
        assert_eq!(resolve_reference("#46"), Ok('.'));
        assert!(resolve_reference("#0").is_err());
        assert!(resolve_reference("#xD800").is_err());
        assert!(resolve_reference("nbsp").is_err());
        assert!(resolve_reference("#x").is_err());
        assert!(resolve_reference("#99999999999").is_err());
    }

    #[test]
    fn end_of_line_normalization() {
        let mut s = String::new();
        push_normalized(&mut s, "a\r\nb\rc\n");
        assert_eq!(s, "a\nb\nc\n");
    }
}
