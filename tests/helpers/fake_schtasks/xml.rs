//! Reading task XML the way `/Create /XML` does: byte decoding (§4.2), a small DOM with
//! line/column positions built with quick-xml, and the re-serialisation used by `/Query /XML`.

use quick_xml::errors::{Error as QxError, IllFormedError, SyntaxError};
use quick_xml::events::Event;
use quick_xml::events::attributes::AttrError;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::locale::decode_cp1252;

pub(crate) const TASK_NS: &str = "http://schemas.microsoft.com/windows/2004/02/mit/task";

/// 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Attr {
    pub(crate) qname: String,
    pub(crate) local: String,
    pub(crate) ns: Option<String>,
    pub(crate) value: String,
    /// Position of the first character of the attribute name.
    pub(crate) pos: Pos,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Elem(Element),
    Text(String, Pos),
}

#[derive(Clone, Debug)]
pub(crate) struct Element {
    pub(crate) qname: String,
    pub(crate) local: String,
    pub(crate) ns: Option<String>,
    pub(crate) attrs: Vec<Attr>,
    /// `xmlns` / `xmlns:p` declarations, kept for re-serialising foreign content (Data).
    pub(crate) ns_decls: Vec<(String, String)>,
    pub(crate) children: Vec<Node>,
    /// Position of the first character of the start-tag name.
    pub(crate) start: Pos,
    /// Position of the first character of the end-tag name (= `start` for `<x/>`).
    pub(crate) end: Pos,
}

/// A well-formedness failure: rendered as `(line,col)::ERROR: <message>` (§4.9).
#[derive(Clone, Debug)]
pub(crate) struct XmlError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

impl Element {
    /// A new element in the task namespace (used when `/Change` or `/SC` adds nodes).
    pub(crate) fn new(local: &str) -> Element {
        Element {
            qname: local.to_string(),
            local: local.to_string(),
            ns: Some(TASK_NS.to_string()),
            attrs: Vec::new(),
            ns_decls: Vec::new(),
            children: Vec::new(),
            start: Pos::default(),
            end: Pos::default(),
        }
    }

    pub(crate) fn elems(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            Node::Text(..) => None,
        })
    }

    pub(crate) fn elems_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            Node::Text(..) => None,
        })
    }

    pub(crate) fn child(&self, local: &str) -> Option<&Element> {
        self.elems().find(|e| e.local == local)
    }

    pub(crate) fn child_mut(&mut self, local: &str) -> Option<&mut Element> {
        self.elems_mut().find(|e| e.local == local)
    }

    /// The child `local`, created (appended) if missing.
    pub(crate) fn child_or_insert(&mut self, local: &str) -> &mut Element {
        if self.child(local).is_none() {
            self.children.push(Node::Elem(Element::new(local)));
        }
        match self.child_mut(local) {
            Some(e) => e,
            None => unreachable!("child was just inserted"),
        }
    }

    pub(crate) fn remove_child(&mut self, local: &str) {
        self.children.retain(|n| !matches!(n, Node::Elem(e) if e.local == local));
    }

    /// Replaces the text content (children) with `text`.
    pub(crate) fn set_text(&mut self, text: &str) {
        self.children = vec![Node::Text(text.to_string(), Pos::default())];
    }

    /// Concatenated character data of this element (not of descendants).
    pub(crate) fn raw_text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t, _) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Character data with XML whitespace trimmed (what value validation looks at).
    pub(crate) fn text(&self) -> String {
        self.raw_text().trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')).to_string()
    }

    pub(crate) fn child_text(&self, local: &str) -> Option<String> {
        self.child(local).map(Element::text)
    }

    pub(crate) fn attr(&self, local: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.local == local && a.ns.is_none())
    }

    pub(crate) fn set_attr(&mut self, local: &str, value: &str) {
        if let Some(a) = self.attrs.iter_mut().find(|a| a.local == local && a.ns.is_none()) {
            a.value = value.to_string();
        } else {
            self.attrs.push(Attr {
                qname: local.to_string(),
                local: local.to_string(),
                ns: None,
                value: value.to_string(),
                pos: Pos::default(),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoding (§4.2)
// ---------------------------------------------------------------------------------------

/// The `encoding` pseudo-attribute of a leading XML declaration, and the column just after
/// the declaration's `?>` (where XmlLite reports an encoding switch failure).
fn declared_encoding(text: &str) -> Option<(String, Pos)> {
    if !text.starts_with("<?xml") {
        return None;
    }
    let end = text.find("?>")?;
    let decl = &text[..end];
    let after = pos_of(text, end + 2);
    let i = decl.find("encoding")?;
    let rest = decl[i + "encoding".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some((value[..close].to_string(), after))
}

fn is_utf16_name(enc: &str) -> bool {
    let e = enc.to_ascii_lowercase();
    matches!(e.as_str(), "utf-16" | "utf16" | "unicode" | "ucs-2" | "utf-16le")
}

/// Turns the bytes of an `/XML` file into text the way schtasks + the service do:
/// UTF-16LE with BOM is read as UTF-16; BOM-less bytes are read in the ANSI code page
/// (Wine does `MultiByteToWideChar(CP_ACP)`, [W1]); a UTF-8 BOM or UTF-16BE is refused;
/// a declaration that contradicts the actual encoding is refused.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, XmlError> {
    let syntax = |line, col| XmlError {
        pos: Pos { line, col },
        message: "ERROR: incorrect document syntax".to_string(),
    };
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) || bytes.starts_with(&[0xFE, 0xFF]) {
        // Seen as `(1,2)::ERROR: incorrect document syntax` for UTF-8+BOM ([I1] #5); the fake
        // uses the same text for UTF-16BE ([U]: the reference only says "not accepted").
        return Err(syntax(1, 2));
    }
    if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        if body.len() % 2 != 0 {
            return Err(XmlError {
                pos: Pos { line: 1, col: 1 },
                message: "ERROR: unexpected end of input".to_string(),
            });
        }
        let units = body.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        let mut text = String::with_capacity(body.len() / 2);
        for r in char::decode_utf16(units) {
            match r {
                Ok(c) => text.push(c),
                Err(_) => {
                    return Err(XmlError {
                        pos: pos_of(&text, text.len()),
                        message: "ERROR: invalid unicode character".to_string(),
                    });
                }
            }
        }
        if let Some((enc, after)) = declared_encoding(&text)
            && !is_utf16_name(&enc)
        {
            // [I3]: a UTF-16 buffer declaring UTF-8.
            return Err(XmlError {
                pos: after,
                message: "ERROR: switch from current encoding to specified encoding not supported"
                    .to_string(),
            });
        }
        check_nul(&text)?;
        return Ok(text);
    }
    let text = decode_cp1252(bytes);
    if let Some((enc, after)) = declared_encoding(&text)
        && is_utf16_name(&enc)
    {
        // [I1] #8: ANSI bytes declaring UTF-16 → `(1,40)::ERROR: unable to switch the encoding`.
        return Err(XmlError {
            pos: after,
            message: "ERROR: unable to switch the encoding".to_string(),
        });
    }
    check_nul(&text)?;
    Ok(text)
}

/// A NUL in the text (e.g. UTF-16 without BOM read as ANSI) is an illegal XML character.
fn check_nul(text: &str) -> Result<(), XmlError> {
    match text.find('\0') {
        Some(i) => Err(XmlError {
            pos: pos_of(text, i),
            message: "ERROR: invalid xml character".to_string(),
        }),
        None => Ok(()),
    }
}

/// Position of byte offset `off` in `text`.
pub(crate) fn pos_of(text: &str, off: usize) -> Pos {
    let off = off.min(text.len());
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    Pos { line, col: before[line_start..].chars().count() + 1 }
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn pos(&self, text: &str, off: usize) -> Pos {
        let off = off.min(text.len());
        let line_idx = self.starts.partition_point(|&s| s <= off) - 1;
        let start = self.starts[line_idx];
        let col = text.get(start..off).map(|s| s.chars().count()).unwrap_or(0) + 1;
        Pos { line: line_idx + 1, col }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

fn qx_message(e: &QxError) -> &'static str {
    match e {
        QxError::Syntax(
            SyntaxError::UnclosedComment
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedTag
            | SyntaxError::UnclosedPI
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedDoctype
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue,
        ) => "ERROR: unexpected end of input",
        QxError::Syntax(_) => "ERROR: incorrect document syntax",
        QxError::IllFormed(IllFormedError::DoubleHyphenInComment) => {
            "ERROR: incorrect comment syntax"
        }
        QxError::IllFormed(IllFormedError::MismatchedEndTag { .. }) => {
            "ERROR: end tag does not match the start tag"
        }
        QxError::IllFormed(IllFormedError::MissingEndTag(_)) => "ERROR: unexpected end of input",
        QxError::IllFormed(IllFormedError::UnclosedReference) => "ERROR: semicolon expected",
        QxError::IllFormed(_) => "ERROR: incorrect document syntax",
        QxError::InvalidAttr(AttrError::Duplicated(..)) => "ERROR: duplicate attribute",
        QxError::InvalidAttr(AttrError::ExpectedEq(_)) => "ERROR: equal expected",
        QxError::InvalidAttr(_) => "ERROR: quote expected",
        QxError::Escape(_) => "ERROR: undeclared entity",
        QxError::Namespace(_) => "ERROR: undeclared namespace prefix",
        _ => "ERROR: incorrect document syntax",
    }
}

fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

/// Appends character data to the innermost open element, merging adjacent text runs.
fn push_text(stack: &mut [Element], s: &str, pos: Pos) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(t, _)) = top.children.last_mut() {
            t.push_str(s);
        } else {
            top.children.push(Node::Text(s.to_string(), pos));
        }
    }
}

/// Builds the DOM of a decoded task document. Comments and processing instructions are
/// dropped (Windows does not keep them either).
pub(crate) fn parse(text: &str) -> Result<Element, XmlError> {
    let idx = LineIndex::new(text);
    let mut reader = NsReader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_comments = true;
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let err_at = |off: usize, message: &str| XmlError {
        pos: idx.pos(text, off),
        message: message.to_string(),
    };
    loop {
        let ev_start = reader.buffer_position() as usize;
        let (ns, ev) = match reader.read_resolved_event() {
            Ok((ns, ev)) => (ns_string(&ns), ev),
            Err(e) => {
                return Err(err_at(reader.error_position() as usize, qx_message(&e)));
            }
        };
        match ev {
            Event::Decl(_) => {
                if ev_start != 0 {
                    return Err(err_at(ev_start, "ERROR: incorrect document syntax"));
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                if stack.is_empty() && root.is_some() {
                    return Err(err_at(ev_start, "ERROR: only one top level element is allowed"));
                }
                let qname = e.name().as_ref().to_string();
                let local = e.local_name().as_ref().to_string();
                let ns = match ns {
                    NsRes::Unknown => {
                        return Err(err_at(ev_start + 1, "ERROR: undeclared namespace prefix"));
                    }
                    NsRes::Bound(u) => Some(u),
                    NsRes::Unbound => None,
                };
                let start = idx.pos(text, ev_start + 1);
                let tag_end = reader.buffer_position() as usize;
                let tag_text = &text[ev_start..tag_end.min(text.len())];
                let mut attrs = Vec::new();
                let mut ns_decls = Vec::new();
                let mut it = e.attributes();
                it.with_checks(true);
                for a in it {
                    let a = match a {
                        Ok(a) => a,
                        Err(ae) => {
                            let m = qx_message(&QxError::InvalidAttr(ae));
                            return Err(err_at(ev_start, m));
                        }
                    };
                    let key = a.key.as_ref().to_string();
                    let value = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        Ok(v) => v.into_owned(),
                        Err(_) => return Err(err_at(ev_start, "ERROR: undeclared entity")),
                    };
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        ns_decls.push((key, value));
                        continue;
                    }
                    let (res, local) = reader.resolver().resolve_attribute(a.key);
                    let ans = match ns_string(&res) {
                        NsRes::Unknown => {
                            return Err(err_at(ev_start, "ERROR: undeclared namespace prefix"));
                        }
                        NsRes::Bound(u) => Some(u),
                        NsRes::Unbound => None,
                    };
                    let rel = find_attr_offset(tag_text, &key).unwrap_or(1);
                    attrs.push(Attr {
                        qname: key.clone(),
                        local: local.as_ref().to_string(),
                        ns: ans,
                        value,
                        pos: idx.pos(text, ev_start + rel),
                    });
                }
                let el = Element {
                    qname,
                    local,
                    ns,
                    attrs,
                    ns_decls,
                    children: Vec::new(),
                    start,
                    end: start,
                };
                if is_empty {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(err_at(ev_start, "ERROR: incorrect document syntax"));
                };
                el.end = idx.pos(text, ev_start + 2);
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                if stack.is_empty() {
                    if !content.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                        return Err(err_at(ev_start, "ERROR: incorrect document syntax"));
                    }
                } else {
                    push_text(&mut stack, &content, idx.pos(text, ev_start));
                }
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(err_at(ev_start, "ERROR: incorrect document syntax"));
                }
                let content = c.xml10_content();
                push_text(&mut stack, &content, idx.pos(text, ev_start));
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return Err(err_at(ev_start, "ERROR: incorrect document syntax"));
                }
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        let name = r.xml10_content();
                        match resolve_entity(&name) {
                            Some(c) => c,
                            None => return Err(err_at(ev_start, "ERROR: undeclared entity")),
                        }
                    }
                    Err(_) => return Err(err_at(ev_start, "ERROR: invalid character reference")),
                };
                push_text(&mut stack, &ch.to_string(), idx.pos(text, ev_start));
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => {
                // XmlLite as used by Task Scheduler prohibits DTDs.
                return Err(err_at(ev_start, "ERROR: DTD is prohibited"));
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(err_at(text.len(), "ERROR: unexpected end of input"));
                }
                return match root {
                    Some(r) => Ok(r),
                    None => Err(err_at(text.len(), "ERROR: root element is missing")),
                };
            }
        }
    }
}

enum NsRes {
    Bound(String),
    Unbound,
    Unknown,
}

fn ns_string(r: &ResolveResult<'_>) -> NsRes {
    match r {
        ResolveResult::Bound(ns) => NsRes::Bound(ns.as_ref().to_string()),
        ResolveResult::Unbound => NsRes::Unbound,
        ResolveResult::Unknown(_) => NsRes::Unknown,
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Elem(el)),
        None => *root = Some(el),
    }
}

/// Byte offset (relative to the tag start) of attribute `key` inside a start tag.
fn find_attr_offset(tag: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(key) {
        let at = from + i;
        let before_ok = tag[..at].chars().last().is_some_and(|c| c.is_whitespace());
        let after = tag[at + key.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

// ---------------------------------------------------------------------------------------
// Serialising (what `/Query /XML` prints)
// ---------------------------------------------------------------------------------------

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn escape_attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// Serialises a task document the way Task Scheduler exports it: two-space indentation,
/// elements of the task namespace unprefixed with the default namespace on the root,
/// `<Empty />` elements, no comments. Lines are separated by `\n` (the output layer turns
/// them into CRLF). `indent` is the indentation of the root element.
pub(crate) fn serialize(root: &Element, indent: usize) -> String {
    let mut out = String::new();
    write_elem(&mut out, root, indent, true, false);
    out
}

fn write_elem(out: &mut String, e: &Element, indent: usize, is_root: bool, foreign_ctx: bool) {
    let in_task_ns = e.ns.as_deref() == Some(TASK_NS) && !foreign_ctx;
    let name = if in_task_ns { e.local.as_str() } else { e.qname.as_str() };
    out.push_str(&" ".repeat(indent));
    out.push('<');
    out.push_str(name);
    for a in &e.attrs {
        out.push_str(&format!(" {}=\"{}\"", a.qname, escape_attr(&a.value)));
    }
    if is_root {
        out.push_str(&format!(" xmlns=\"{TASK_NS}\""));
    }
    for (k, v) in &e.ns_decls {
        let binds_task = v == TASK_NS;
        if (is_root || in_task_ns) && binds_task {
            continue;
        }
        out.push_str(&format!(" {k}=\"{}\"", escape_attr(v)));
    }
    let has_elems = e.elems().next().is_some();
    // Data and ComHandler/Data hold foreign content: keep it as written.
    let child_foreign = foreign_ctx || (in_task_ns && e.local == "Data");
    if has_elems {
        out.push_str(">\n");
        for c in e.elems() {
            write_elem(out, c, indent + 2, false, child_foreign);
        }
        out.push_str(&" ".repeat(indent));
        out.push_str(&format!("</{name}>\n"));
    } else {
        let text = e.raw_text();
        if text.is_empty() {
            out.push_str(" />\n");
        } else {
            out.push_str(&format!(">{}</{name}>\n", escape_text(&text)));
        }
    }
}
