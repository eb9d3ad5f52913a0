//! Bounds the work a GraphQL document can cause *before* async-graphql
//! validates it. Validation expands fragment spreads, so a few hundred
//! bytes of fragments that each spread the next one ten times describe
//! billions of fields; every limit below is therefore measured on the
//! document as it would be expanded, computed once per fragment (memoised),
//! in time linear in the document's size whatever its shape.
//!
//! Two passes: [`scan`] counts lexical tokens and brace nesting on the raw
//! text (so the parser never sees a huge or deeply nested document), then
//! [`measure`] walks the parsed document, expanding each fragment's figures
//! once and refusing cycles.

use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};

pub use crate::settings::DocumentLimits as Limits;

/// What is wrong with a document, in words a client can act on, and which
/// limit it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooMuch(pub String, pub &'static str);

/// Counts tokens and brace nesting of the raw text, stopping as soon as a
/// limit is passed. Whitespace, commas and comments are not tokens.
pub fn scan(text: &str, limits: &Limits) -> Result<(), TooMuch> {
    let bytes = text.as_bytes();
    let (mut i, mut tokens, mut nesting) = (0usize, 0usize, 0usize);
    // Braces and parentheses nest once per level of field; a little slack
    // for arguments' object values.
    let max_nesting = limits.depth * 2 + 8;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i);
            }
            b'{' | b'(' | b'[' => {
                nesting += 1;
                if nesting > max_nesting {
                    return Err(TooMuch(
                        format!("the document nests deeper than {max_nesting} brackets"),
                        "depth",
                    ));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                nesting = nesting.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            c if c == b'_' || c.is_ascii_alphanumeric() || c == b'-' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.')
                {
                    i += 1;
                }
            }
            _ => {
                // Punctuators and anything the parser will refuse anyway;
                // skip a whole UTF-8 character.
                i += 1;
                while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
                    i += 1;
                }
            }
        }
        tokens += 1;
        if tokens > limits.tokens {
            return Err(TooMuch(
                format!("the document has more than {} tokens", limits.tokens),
                "tokens",
            ));
        }
    }
    Ok(())
}

/// The index just past a string or block string starting at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A selection's figures once fragments are expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    fields: u64,
    aliases: u64,
    depth: usize,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
    }
}

enum Memo {
    InProgress,
    Done(Figures),
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<&'a str, Memo>,
    directives: usize,
}

impl<'a> Walker<'a> {
    fn directives(&mut self, list: &[Positioned<Directive>]) {
        self.directives += list.len();
    }

    fn set(&mut self, set: &'a SelectionSet) -> Result<Figures, TooMuch> {
        let mut figures = Figures::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.directives(&field.node.directives);
                    let inner = self.set(&field.node.selection_set.node)?;
                    // Introspection's `ofType` unwraps a list or non-null
                    // type: a chain of them ends at once, so it adds no
                    // depth. The standard introspection query (GraphiQL's)
                    // nests it eight deep; async-graphql's own depth limit
                    // still caps the chain (see `build_schema`).
                    let own_depth = usize::from(field.node.name.node.as_str() != "ofType");
                    figures.add(Figures {
                        fields: inner.fields.saturating_add(1),
                        aliases: inner
                            .aliases
                            .saturating_add(u64::from(field.node.alias.is_some())),
                        depth: inner.depth + own_depth,
                    });
                }
                Selection::InlineFragment(fragment) => {
                    self.directives(&fragment.node.directives);
                    let inner = self.set(&fragment.node.selection_set.node)?;
                    figures.add(inner);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives(&spread.node.directives);
                    let inner = self.fragment(spread.node.fragment_name.node.as_str())?;
                    figures.add(inner);
                }
            }
        }
        Ok(figures)
    }

    /// A fragment's figures, computed once; a fragment that spreads itself
    /// (directly or not) is refused. An unknown one counts as empty:
    /// validation reports it.
    fn fragment(&mut self, name: &'a str) -> Result<Figures, TooMuch> {
        match self.memo.get(name) {
            Some(Memo::Done(f)) => return Ok(*f),
            Some(Memo::InProgress) => {
                return Err(TooMuch(format!("fragment {name} spreads itself"), "cycle"));
            }
            None => {}
        }
        let Some((key, def)) = self.doc.fragments.get_key_value(name) else {
            return Ok(Figures::default());
        };
        self.memo.insert(key.as_str(), Memo::InProgress);
        self.directives(&def.node.directives);
        let figures = self.set(&def.node.selection_set.node)?;
        self.memo.insert(key.as_str(), Memo::Done(figures));
        Ok(figures)
    }
}

/// Checks the parsed document against the limits, fragments expanded.
/// Fragments no operation uses are measured too (validation reads them).
pub fn measure(doc: &ExecutableDocument, limits: &Limits) -> Result<(), TooMuch> {
    let mut walker = Walker {
        doc,
        memo: HashMap::new(),
        directives: 0,
    };
    let mut total = Figures::default();
    for (_, op) in doc.operations.iter() {
        walker.directives(&op.node.directives);
        let figures = walker.set(&op.node.selection_set.node)?;
        total.fields = total.fields.saturating_add(figures.fields);
        total.aliases = total.aliases.saturating_add(figures.aliases);
        total.depth = total.depth.max(figures.depth);
    }
    for name in doc.fragments.keys() {
        walker.fragment(name.as_str())?;
    }
    let checks = [
        (
            total.depth as u64,
            limits.depth as u64,
            "depth",
            "levels of nested fields",
        ),
        (
            total.fields,
            limits.fields,
            "fields",
            "fields once fragments are expanded",
        ),
        (
            total.aliases,
            limits.aliases,
            "aliases",
            "aliases once fragments are expanded",
        ),
        (
            walker.directives as u64,
            limits.directives as u64,
            "directives",
            "directives",
        ),
    ];
    for (value, max, limit, what) in checks {
        if value > max {
            return Err(TooMuch(
                format!("the document has {value} {what}; at most {max} are allowed"),
                limit,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), TooMuch> {
        let limits = Limits::default();
        scan(text, &limits)?;
        let doc = async_graphql::parser::parse_query(text).expect("parses");
        measure(&doc, &limits)
    }

    /// `{ ...F0 }` where each of `levels` fragments spreads the next `width` times.
    fn fan_out(levels: usize, width: usize) -> String {
        let mut doc = String::from("{ ...F0 }\n");
        for l in 0..levels {
            let body = if l + 1 == levels {
                "__typename".to_string()
            } else {
                vec![format!("...F{}", l + 1); width].join(" ")
            };
            doc.push_str(&format!("fragment F{l} on Query {{ {body} }}\n"));
        }
        doc
    }

    #[test]
    fn fragment_fan_out_is_measured_expanded_and_refused_at_once() {
        let started = std::time::Instant::now();
        let err = check(&fan_out(9, 10)).unwrap_err();
        assert!(
            err.0.contains("fields once fragments are expanded"),
            "{err:?}"
        );
        // 10^8 fields described, measured in one pass.
        assert!(started.elapsed() < std::time::Duration::from_millis(200));
        assert!(check(&fan_out(3, 10)).is_ok(), "100 fields are fine");
    }

    #[test]
    fn cycles_depth_aliases_directives_and_tokens() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(check(cycle).unwrap_err().0.contains("spreads itself"));
        let self_spread = "{ __typename } fragment A on Query { ...A }";
        assert!(check(self_spread).unwrap_err().0.contains("spreads itself"));

        let deep = format!("{}{}", "{ a ".repeat(11), "}".repeat(11));
        assert!(check(&deep).unwrap_err().0.contains("nested fields"));
        // The standard introspection query's type references: eight `ofType`
        // levels under `fields { type`, which add no depth; anything else does.
        let type_ref = format!(
            "{{ __schema {{ types {{ fields {{ args {{ type {} name {} }} }} }} }} }}",
            "{ kind ofType ".repeat(8),
            "}".repeat(8)
        );
        assert!(check(&type_ref).is_ok(), "ofType chains add no depth");
        let nested_fields = format!(
            "{{ __schema {{ types {} name {} }} }}",
            "{ fields { type ".repeat(5),
            "} }".repeat(5)
        );
        assert!(
            check(&nested_fields)
                .unwrap_err()
                .0
                .contains("nested fields")
        );
        let deep_inline = format!("{}{}", "{ ... on Query { a ".repeat(6), "} }".repeat(6));
        assert!(check(&deep_inline).is_ok(), "inline fragments add no depth");

        let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
        assert!(
            check(&format!("{{ {aliases} }}"))
                .unwrap_err()
                .0
                .contains("aliases")
        );
        let through_fragments = format!(
            "{{ ...A ...A ...A }} fragment A on Query {{ {} }}",
            (0..11)
                .map(|i| format!("x{i}: __typename "))
                .collect::<String>()
        );
        assert!(check(&through_fragments).unwrap_err().0.contains("aliases"));

        let directives = format!("{{ {} }}", "__typename @skip(if: false) ".repeat(51));
        assert!(check(&directives).unwrap_err().0.contains("directives"));

        let long = format!("{{ {} }}", "__typename ".repeat(2_100));
        assert!(
            scan(&long, &Limits::default())
                .unwrap_err()
                .0
                .contains("tokens")
        );
        let nested = "{".repeat(100_000);
        assert!(
            scan(&nested, &Limits::default())
                .unwrap_err()
                .0
                .contains("nests")
        );
    }

    #[test]
    fn strings_and_comments_are_single_tokens_or_none() {
        let limits = Limits {
            tokens: 6,
            ..Limits::default()
        };
        // { a ( b : "…" ) } would be 8; a comment and a long string cost 0 and 1.
        assert!(scan("# a comment { { {\n{ a(b: \"x { y } z\") }", &limits).is_err());
        assert!(
            scan(
                "# a comment { { {\n{ a(b: \"\"\"x { y\"\"\") }",
                &Limits::default()
            )
            .is_ok()
        );
        assert!(scan("{ a }", &limits).is_ok());
    }
}
