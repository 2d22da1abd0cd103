//! The XML side of the trigger simulator: a small element tree parsed with quick-xml, and
//! the decoding of task files (UTF-16LE with BOM or UTF-8).

use quick_xml::Reader;
use quick_xml::events::Event;

/// A parsed XML element: local name (namespace prefix dropped), text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Concatenated, trimmed text content.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the named child.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Collects every descendant (depth first) with one of `names`.
    pub(super) fn collect<'a>(&'a self, names: &[&str], out: &mut Vec<&'a Element>) {
        for child in &self.children {
            if names.contains(&child.name.as_str()) {
                out.push(child);
            } else {
                child.collect(names, out);
            }
        }
    }
}

/// Parses XML text into a tree; the returned element is a synthetic `#document` whose
/// children are the root element(s).
pub fn parse_xml(xml: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![Element { name: "#document".to_owned(), ..Element::default() }];
    loop {
        let event = reader.read_event().map_err(|e| format!("malformed XML: {e}"))?;
        match event {
            Event::Start(start) => {
                stack.push(Element { name: local_name(&start), ..Element::default() })
            }
            Event::Empty(start) => {
                let element = Element { name: local_name(&start), ..Element::default() };
                top(&mut stack)?.children.push(element);
            }
            Event::End(_) => {
                let mut done = stack.pop().ok_or("unbalanced end tag")?;
                done.text = done.text.trim().to_owned();
                top(&mut stack)?.children.push(done);
            }
            Event::Text(text) => top(&mut stack)?.text.push_str(&text.xml10_content()),
            Event::CData(data) => top(&mut stack)?.text.push_str(&data.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                top(&mut stack)?.text.push(resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match stack.len() {
        1 => stack.pop().ok_or_else(|| "empty document".to_owned()),
        _ => Err("unclosed element at end of document".to_owned()),
    }
}

/// The local name of a start tag (namespace prefix dropped).
fn local_name(start: &quick_xml::events::BytesStart<'_>) -> String {
    let name = start.local_name();
    let text: &str = name.as_ref();
    text.to_owned()
}

/// The innermost open element.
fn top(stack: &mut [Element]) -> Result<&mut Element, String> {
    stack.last_mut().ok_or_else(|| "unbalanced XML".to_owned())
}

/// Resolves `&amp;`-style and numeric character references.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<char, String> {
    if let Some(ch) = reference.resolve_char_ref().map_err(|e| e.to_string())? {
        return Ok(ch);
    }
    match reference.xml10_content().as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(format!("unknown entity &{other};")),
    }
}

/// Decodes the bytes of a task file: UTF-16LE with BOM (what Windows and orc write), UTF-8
/// with or without BOM.
pub fn decode_task_bytes(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        if rest.len() % 2 != 0 {
            return Err("odd number of bytes in UTF-16LE text".to_owned());
        }
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect();
        return String::from_utf16(&units).map_err(|e| e.to_string());
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8(body.to_vec()).map_err(|e| e.to_string())
}
