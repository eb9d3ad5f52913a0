//! Contacts: a member's own address book.

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, code, day, field};

async fn add(app: &TestApp, token: Option<&str>, input: Value) -> Value {
    app.op(token, "AddContact", json!({ "input": input })).await
}

const MY_CONTACTS: &str = "query($first: Int, $after: String) { myContacts(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id name kind npsScore email phone company npsOn } } } }";

db_test!(adding_and_listing_contacts, |app: TestApp| async move {
    let mia = app.person("Mia", "Architect").await;
    let max = app.person("Max", "Plumber").await;

    let resp = add(
        &app,
        Some(&mia.token),
        json!({ "name": " Carla Client ", "kind": "CLIENT", "email": "carla@example.net", "phone": "+49 30 1234567", "company": "Carla GmbH", "npsScore": 9 }),
    )
    .await;
    let carla = &resp["data"]["addContact"];
    assert_eq!(
        carla,
        &json!({ "id": carla["id"], "name": "Carla Client", "kind": "CLIENT", "npsScore": 9 }),
        "{resp:#}"
    );
    assert!(carla["id"].is_string());
    let resp = add(
        &app,
        Some(&mia.token),
        json!({ "name": "bruno", "kind": "PROFESSIONAL", "npsScore": 0 }),
    )
    .await;
    assert_eq!(resp["data"]["addContact"]["npsScore"], 0, "{resp:#}");
    let resp = add(
        &app,
        Some(&mia.token),
        json!({ "name": "Anna", "kind": "PROSPECT", "email": "", "phone": " " }),
    )
    .await;
    assert_eq!(
        resp["data"]["addContact"]["npsScore"],
        Value::Null,
        "{resp:#}"
    );
    add(
        &app,
        Some(&max.token),
        json!({ "name": "Zed", "kind": "OTHER" }),
    )
    .await;
    assert_eq!(app.count("contacts").await, 4);

    // By name, case-insensitively, a page at a time; details for the owner.
    let resp = app
        .gql(Some(&mia.token), MY_CONTACTS, json!({ "first": 2 }))
        .await;
    let page = &resp["data"]["myContacts"];
    assert_eq!(page["totalCount"], 3, "{resp:#}");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let nodes: Vec<Value> = page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut n = e["node"].clone();
            n.as_object_mut().unwrap().remove("id");
            n
        })
        .collect();
    assert_eq!(
        nodes,
        vec![
            json!({ "name": "Anna", "kind": "PROSPECT", "npsScore": null, "email": null, "phone": null, "company": null, "npsOn": null }),
            json!({ "name": "bruno", "kind": "PROFESSIONAL", "npsScore": 0, "email": null, "phone": null, "company": null, "npsOn": day(0) }),
        ]
    );
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap();
    let resp = app
        .gql(
            Some(&mia.token),
            MY_CONTACTS,
            json!({ "first": 2, "after": cursor }),
        )
        .await;
    let page = &resp["data"]["myContacts"];
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        page["edges"][0]["node"],
        json!({ "id": carla["id"], "name": "Carla Client", "kind": "CLIENT", "npsScore": 9, "email": "carla@example.net", "phone": "+49 30 1234567", "company": "Carla GmbH", "npsOn": day(0) })
    );
    let resp = app.gql(Some(&max.token), MY_CONTACTS, json!({})).await;
    assert_eq!(resp["data"]["myContacts"]["totalCount"], 1);
    assert_eq!(
        resp["data"]["myContacts"]["edges"][0]["node"]["name"],
        "Zed"
    );
    assert_eq!(
        code(&app.gql(None, MY_CONTACTS, json!({})).await),
        "UNAUTHENTICATED"
    );
    let resp = app
        .gql(Some(&mia.token), MY_CONTACTS, json!({ "first": 101 }))
        .await;
    assert_eq!((code(&resp), field(&resp)), ("BAD_USER_INPUT", "first"));
});

db_test!(refused_contacts_write_nothing, |app: TestApp| async move {
    let mia = app.person("Mia", "Architect").await;
    let before = app.snapshot().await;
    let ok = json!({ "name": "Carla", "kind": "CLIENT" });
    assert_eq!(code(&add(&app, None, ok.clone()).await), "UNAUTHENTICATED");
    let with = |k: &str, v: Value| {
        let mut input = ok.clone();
        input[k] = v;
        input
    };
    for (input, expected_field) in [
        (with("name", json!("  ")), "input.name"),
        (with("name", json!("n".repeat(201))), "input.name"),
        (with("email", json!("carla@")), "input.email"),
        (with("phone", json!("call me")), "input.phone"),
        (with("phone", json!("12")), "input.phone"),
        (with("company", json!("c".repeat(201))), "input.company"),
        (with("npsScore", json!(11)), "input.npsScore"),
        (with("npsScore", json!(-1)), "input.npsScore"),
    ] {
        let resp = add(&app, Some(&mia.token), input.clone()).await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", expected_field),
            "{input}: {resp:#}"
        );
    }
    let resp = add(&app, Some(&mia.token), with("kind", json!("FRIEND"))).await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert_eq!(
        app.snapshot().await,
        before,
        "refused mutations wrote nothing"
    );
});
