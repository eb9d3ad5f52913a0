//! Black-box tests live in `tests/api/`; the bench in `benches/`. What both
//! need lives here.

/// `{ ...F0 }` where each of `levels` fragments spreads the next `width` times.
pub fn fan_out(levels: usize, width: usize) -> String {
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

/// Hostile documents and the limit each one passes.
pub fn hostile() -> Vec<(&'static str, String, &'static str)> {
    let aliases: String = (0..40).map(|i| format!("a{i}: __typename ")).collect();
    vec![
        // The measured hole: 9 fragments, each spreading the next 10 times.
        ("fragment fan-out 10 x 9", fan_out(9, 10), "fields"),
        ("fragment fan-out 5 x 12", fan_out(12, 5), "fields"),
        ("fragment fan-out 2 x 40", fan_out(40, 2), "fields"),
        (
            "fragment cycle",
            "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }"
                .to_string(),
            "cycle",
        ),
        (
            "deep inline fragments",
            format!(
                "{{ me {} __typename {} }}",
                "... on Member { memberships { group { ".repeat(5),
                "} } }".repeat(5)
            ),
            "depth",
        ),
        (
            "field flood",
            format!("{{ {} }}", "__typename ".repeat(5_000)),
            "tokens",
        ),
        (
            "directive flood",
            format!("{{ {} }}", "__typename @include(if: true) ".repeat(60)),
            "directives",
        ),
        ("alias flood", format!("{{ {aliases} }}"), "aliases"),
        (
            "introspection nesting",
            format!(
                "{{ __schema {{ types {} name {} }} }}",
                "{ fields { type { ofType ".repeat(4),
                "} } }".repeat(4)
            ),
            "depth",
        ),
        (
            "bracket nesting",
            format!("{{ me {}", "{ ".repeat(20_000)),
            "depth",
        ),
    ]
}
