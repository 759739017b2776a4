//! Writing lists back to XML.

use std::fmt::Write;

/// Escapes text content so that parsing gives the same characters back:
/// `&`, `<`, `>` as entities, and carriage returns as `&#13;` (a literal CR
/// would be normalized to a line feed by the parser).
pub(crate) fn escape_into(out: &mut String, s: &str) {
    if !s.contains(['&', '<', '>', '\r']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// An indenting writer for the element-only structure of the lists.
pub(crate) struct XmlOut {
    pub(crate) out: String,
    depth: usize,
}

impl XmlOut {
    pub(crate) fn new(root: &str, namespace: &str) -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = write!(out, "<{root} xmlns=\"");
        escape_into(&mut out, namespace);
        out.push_str("\">\n");
        Self { out, depth: 1 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
    }

    pub(crate) fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.depth += 1;
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    pub(crate) fn leaf(&mut self, name: &str, value: &str) {
        self.indent();
        let _ = write!(self.out, "<{name}>");
        escape_into(&mut self.out, value);
        let _ = writeln!(self.out, "</{name}>");
    }

    pub(crate) fn finish(mut self, root: &str) -> String {
        let _ = writeln!(self.out, "</{root}>");
        self.out
    }
}
