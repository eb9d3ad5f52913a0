//! `schema.graphql` is the server's schema, and the contract's operations
//! and types validate against it.

use apollo_compiler::{ExecutableDocument, Schema};

use crate::helpers::{contract_dir, operations};

/// Operations of issues not yet built. This list only shrinks: a pending
/// operation that starts to validate fails the test until it is removed.
/// The insights contract (issues "everyday edits" and "referral intelligence").
const PENDING: &[&str] = &[];

fn repo_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
}

fn committed_sdl() -> String {
    std::fs::read_to_string(repo_file("schema.graphql"))
        .expect("schema.graphql at the repository root")
}

#[test]
fn schema_file_matches_the_server() {
    let live = api::cli::export_schema();
    let committed = committed_sdl();
    if live != committed {
        if std::env::var("RX_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
            std::fs::write(repo_file("schema.graphql"), &live).expect("write schema.graphql");
            return;
        }
        panic!(
            "schema.graphql differs from the server's schema; regenerate it with \
             `RX_UPDATE_SCHEMA=1 cargo test -p tests --test api contract` or \
             `cargo run -p api -- export-schema > schema.graphql`"
        );
    }
}

fn schema() -> apollo_compiler::validation::Valid<Schema> {
    Schema::parse_and_validate(committed_sdl(), "schema.graphql")
        .expect("schema.graphql is a valid schema")
}

#[test]
fn contract_operations_validate_except_pending() {
    let schema = schema();
    let mut failures = Vec::new();
    let mut newly_valid = Vec::new();
    for (name, source) in operations() {
        let valid = ExecutableDocument::parse_and_validate(
            &schema,
            source.as_str(),
            format!("{name}.graphql"),
        );
        match (valid, PENDING.contains(&name.as_str())) {
            (Err(errors), false) => failures.push(format!("{name}:\n{errors}")),
            (Ok(_), true) => newly_valid.push(name.clone()),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "contract operations that do not validate:\n{}",
        failures.join("\n")
    );
    assert!(
        newly_valid.is_empty(),
        "these operations now validate; remove them from PENDING: {newly_valid:?}"
    );
    for name in PENDING {
        assert!(
            operations().contains_key(*name),
            "PENDING names an unknown operation {name}"
        );
    }
}

/// Inputs, enums and scalars are the contract exactly: same names, same
/// fields, same types. Those not in the schema yet must belong to pending work.
#[test]
fn contract_types_are_exact() {
    use apollo_compiler::schema::ExtendedType;
    let ours = schema();
    let src = std::fs::read_to_string(contract_dir().join("types.graphql")).expect("types.graphql");
    let theirs = Schema::parse(src, "types.graphql").expect("types.graphql parses");
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    for (name, ty) in &theirs.types {
        if ty.is_built_in() {
            continue;
        }
        let Some(mine) = ours.types.get(name) else {
            if matches!(
                ty,
                ExtendedType::InputObject(_) | ExtendedType::Enum(_) | ExtendedType::Scalar(_)
            ) {
                missing.push(name.to_string());
            }
            continue;
        };
        match (ty, mine) {
            (ExtendedType::InputObject(a), ExtendedType::InputObject(b)) => {
                let fa: Vec<String> = a
                    .fields
                    .iter()
                    .map(|(n, f)| format!("{n}: {}", f.ty))
                    .collect();
                let mut fb: Vec<String> = b
                    .fields
                    .iter()
                    .map(|(n, f)| format!("{n}: {}", f.ty))
                    .collect();
                let mut fa_sorted = fa.clone();
                fa_sorted.sort();
                fb.sort();
                if fa_sorted != fb {
                    problems.push(format!("input {name}: contract {fa_sorted:?}, ours {fb:?}"));
                }
            }
            (ExtendedType::Enum(a), ExtendedType::Enum(b)) => {
                let mut va: Vec<String> = a.values.keys().map(|v| v.to_string()).collect();
                let mut vb: Vec<String> = b.values.keys().map(|v| v.to_string()).collect();
                va.sort();
                vb.sort();
                if va != vb {
                    problems.push(format!("enum {name}: contract {va:?}, ours {vb:?}"));
                }
            }
            (ExtendedType::Scalar(_), ExtendedType::Scalar(_)) => {}
            (ExtendedType::InputObject(_) | ExtendedType::Enum(_) | ExtendedType::Scalar(_), _) => {
                problems.push(format!("{name} is a different kind of type"));
            }
            (ExtendedType::Object(a), ExtendedType::Object(b)) => {
                for (field, def) in &a.fields {
                    if let Some(mine) = b.fields.get(field)
                        && mine.ty != def.ty
                    {
                        problems.push(format!(
                            "{name}.{field}: contract {}, ours {}",
                            def.ty, mine.ty
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "contract type mismatches:\n{}",
        problems.join("\n")
    );
    missing.sort();
    let expected_missing: Vec<String> = PENDING_TYPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        missing, expected_missing,
        "contract inputs/enums not in the schema (only pending work may miss them)"
    );
}

/// Contract inputs/enums that belong to pending operations, sorted.
const PENDING_TYPES: &[&str] = &[];
