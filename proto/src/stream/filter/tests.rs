use serde_json::{json, Value};

use super::*;

fn channel() -> Value {
    json!({
        "cid": "messaging:general",
        "type": "messaging",
        "name": "The Rock Band",
        "member_count": 3,
        "members": ["alice", "bob", "carol"],
        "frozen": false,
        "created_at": "2024-01-02T03:04:05.123456789Z",
        "team": null,
    })
}

fn hit(filter: Value) -> bool {
    Filter::parse(&filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&channel())
}

fn parse_err(filter: Value) -> StreamError {
    match Filter::parse(&filter) {
        Ok(f) => panic!("{filter} parsed as {f:?}"),
        Err(e) => e,
    }
}

#[test]
fn implicit_eq_and_implicit_and() {
    assert!(hit(json!({"type": "messaging"})));
    assert!(!hit(json!({"type": "livestream"})));
    assert!(hit(json!({"type": "messaging", "frozen": false})));
    assert!(!hit(json!({"type": "messaging", "frozen": true})));
    assert!(hit(json!({})));
    assert!(Filter::parse(&Value::Null).unwrap().matches(&channel()));
}

#[test]
fn comparison_operators() {
    assert!(hit(json!({"member_count": {"$eq": 3}})));
    assert!(hit(json!({"member_count": {"$eq": 3.0}})));
    assert!(hit(json!({"member_count": {"$ne": 4}})));
    assert!(!hit(json!({"member_count": {"$ne": 3}})));
    assert!(hit(json!({"member_count": {"$gt": 2}})));
    assert!(!hit(json!({"member_count": {"$gt": 3}})));
    assert!(hit(json!({"member_count": {"$gte": 3}})));
    assert!(hit(json!({"member_count": {"$lt": 3.5}})));
    assert!(!hit(json!({"member_count": {"$lt": 3}})));
    assert!(hit(json!({"member_count": {"$lte": 3}})));
    // Several operators on one field are ANDed.
    assert!(hit(json!({"member_count": {"$gt": 1, "$lt": 5}})));
    assert!(!hit(json!({"member_count": {"$gt": 1, "$lt": 2}})));
    // Strings compare lexically; different kinds never compare.
    assert!(hit(json!({"cid": {"$gt": "messaging:a"}})));
    assert!(!hit(json!({"cid": {"$lt": "messaging:a"}})));
    assert!(!hit(json!({"member_count": {"$gt": "1"}})));
    assert!(hit(json!({"member_count": {"$ne": "3"}})));
}

#[test]
fn in_and_nin() {
    assert!(hit(json!({"type": {"$in": ["team", "messaging"]}})));
    assert!(!hit(json!({"type": {"$in": ["team"]}})));
    assert!(!hit(json!({"type": {"$in": []}})));
    assert!(hit(json!({"type": {"$nin": ["team"]}})));
    assert!(!hit(json!({"type": {"$nin": ["messaging"]}})));
    // Absent fields: never $in, always $nin.
    assert!(!hit(json!({"team": {"$in": ["red"]}})));
    assert!(hit(json!({"team": {"$nin": ["red"]}})));
}

#[test]
fn array_fields_match_by_element() {
    assert!(hit(json!({"members": {"$in": ["zed", "bob"]}})));
    assert!(!hit(json!({"members": {"$in": ["zed"]}})));
    assert!(hit(json!({"members": {"$nin": ["zed"]}})));
    assert!(!hit(json!({"members": {"$nin": ["carol"]}})));
    assert!(hit(json!({"members": "alice"})));
    assert!(hit(json!({"members": {"$eq": "carol"}})));
    assert!(!hit(json!({"members": "zed"})));
    assert!(hit(json!({"members": {"$ne": "zed"}})));
    // An array operand of $eq is the whole array.
    assert!(hit(json!({"members": ["alice", "bob", "carol"]})));
    assert!(!hit(json!({"members": ["alice", "bob"]})));
}

#[test]
fn exists_treats_null_as_absent() {
    assert!(hit(json!({"name": {"$exists": true}})));
    assert!(!hit(json!({"name": {"$exists": false}})));
    assert!(hit(json!({"team": {"$exists": false}})));
    assert!(hit(json!({"nope": {"$exists": false}})));
    assert!(!hit(json!({"nope": {"$exists": true}})));
}

#[test]
fn text_matches() {
    assert!(hit(json!({"name": {"$autocomplete": "ro"}})));
    assert!(hit(json!({"name": {"$autocomplete": "BAN"}})));
    assert!(hit(json!({"name": {"$autocomplete": "the rock"}})));
    assert!(!hit(json!({"name": {"$autocomplete": "ock"}})));
    assert!(hit(json!({"name": {"$q": "ock"}})));
    assert!(hit(json!({"name": {"$q": "band ROCK"}})));
    assert!(!hit(json!({"name": {"$q": "rock jazz"}})));
    assert!(hit(json!({"members": {"$autocomplete": "car"}})));
    assert!(!hit(json!({"member_count": {"$q": "3"}})));
}

#[test]
fn nesting_and_or_nor() {
    assert!(hit(json!({"$or": [{"type": "team"}, {"members": "bob"}]})));
    assert!(!hit(json!({"$or": [{"type": "team"}, {"members": "zed"}]})));
    assert!(hit(
        json!({"$and": [{"type": "messaging"}, {"member_count": {"$gte": 3}}]})
    ));
    assert!(!hit(
        json!({"$and": [{"type": "messaging"}, {"member_count": {"$gte": 4}}]})
    ));
    assert!(hit(json!({"$nor": [{"type": "team"}, {"frozen": true}]})));
    assert!(!hit(json!({"$nor": [{"type": "team"}, {"frozen": false}]})));
    assert!(hit(json!({
        "type": "messaging",
        "$or": [
            {"$and": [{"members": {"$in": ["zed"]}}, {"frozen": false}]},
            {"$nor": [{"name": {"$autocomplete": "jazz"}}]},
        ],
    })));
    let f = Filter::parse(&json!({"$or": [{"a": 1}, {"b": 2}]})).unwrap();
    assert_eq!(
        f,
        Filter::Or(vec![
            Filter::Field {
                field: "a".into(),
                cond: Cond::Eq(json!(1))
            },
            Filter::Field {
                field: "b".into(),
                cond: Cond::Eq(json!(2))
            },
        ])
    );
}

#[test]
fn times_compare_as_times() {
    // Each of these fails when compared as text.
    assert!(hit(
        json!({"created_at": {"$lt": "2024-01-02T00:04:06-03:00"}})
    ));
    assert!(hit(
        json!({"created_at": {"$gt": "2024-01-02T05:04:05+02:00"}})
    ));
    assert!(hit(
        json!({"created_at": "2024-01-02T05:04:05.123456789+02:00"})
    ));
    assert!(hit(
        json!({"created_at": {"$gte": "2024-01-02T03:04:05.123456789Z"}})
    ));
    assert!(!hit(
        json!({"created_at": {"$gt": "2024-01-02T03:04:05.123456789Z"}})
    ));
    // Integer nanoseconds against an RFC 3339 field.
    assert!(hit(
        json!({"created_at": {"$eq": 1_704_164_645_123_456_789_i64}})
    ));
    assert!(hit(
        json!({"created_at": {"$lt": 1_704_164_645_123_456_790_i64}})
    ));
}

#[test]
fn bad_filters_are_input_errors() {
    let cases = [
        (json!({"type": {"$regex": "m.*"}}), "$regex"),
        (json!({"$where": "1"}), "$where"),
        (json!({"type": {"$in": "messaging"}}), "$in"),
        (json!({"type": {"$nin": 1}}), "$nin"),
        (json!({"name": {"$exists": "yes"}}), "$exists"),
        (json!({"name": {"$autocomplete": 1}}), "$autocomplete"),
        (json!({"name": {"$q": ["a"]}}), "$q"),
        (json!({"member_count": {"$gt": [1]}}), "$gt"),
        (json!({"member_count": {"$lte": null}}), "$lte"),
        (json!({"$or": {"a": 1}}), "$or"),
        (json!({"$and": []}), "$and"),
        (json!({"$nor": [1]}), "filter must be an object"),
        (json!({"name": {"$eq": "x", "plain": 1}}), "name"),
        (json!(["type"]), "filter must be an object"),
    ];
    for (filter, needle) in cases {
        let err = parse_err(filter.clone());
        assert_eq!(err.code.code(), 4, "{filter}");
        assert_eq!(err.status, 400, "{filter}");
        assert!(err.message.contains(needle), "{filter}: {}", err.message);
    }
    let err = parse_err(json!({"type": {"$regex": "m"}}));
    assert!(err.message.contains("\"type\""), "{}", err.message);
}

#[test]
fn allowed_fields() {
    let allowed: &[&str] = &["type", "members"];
    let ok = json!({"type": "messaging", "$or": [{"members": "bob"}]});
    assert!(Filter::parse_with(&ok, Some(allowed)).is_ok());
    let err = Filter::parse_with(&json!({"$or": [{"color": "red"}]}), Some(allowed)).unwrap_err();
    assert_eq!(err.code.code(), 4);
    assert!(err.message.contains("\"color\""), "{}", err.message);
    assert!(Filter::parse(&json!({"color": "red"})).is_ok());
}

#[test]
fn sort_docs_orders_stably_with_missing_last() {
    let mut docs = vec![
        json!({"id": "a", "n": 2, "t": "2024-01-02T03:00:00+02:00"}),
        json!({"id": "b", "t": "2024-01-02T02:00:00Z"}),
        json!({"id": "c", "n": 1, "t": null}),
        json!({"id": "d", "n": 2, "t": "2024-01-02T00:30:00Z"}),
        json!({"id": "e", "n": 10}),
    ];
    let ids = |docs: &[Value]| -> Vec<String> {
        docs.iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    sort_docs(&mut docs, &[SortField::new("n", 1)]);
    assert_eq!(ids(&docs), ["c", "a", "d", "e", "b"]);
    sort_docs(&mut docs, &[SortField::new("n", -1)]);
    assert_eq!(ids(&docs), ["e", "a", "d", "c", "b"]);
    // Times as times: "03:00+02:00" is 01:00Z, before 02:00Z.
    sort_docs(&mut docs, &[SortField::new("t", 1)]);
    assert_eq!(ids(&docs), ["d", "a", "b", "e", "c"]);
    sort_docs(
        &mut docs,
        &[SortField::new("n", 1), SortField::new("t", -1)],
    );
    assert_eq!(ids(&docs), ["c", "a", "d", "e", "b"]);
    sort_docs(&mut docs, &[]);
    assert_eq!(ids(&docs), ["c", "a", "d", "e", "b"]);
}

#[test]
fn sort_docs_exact_for_large_integers() {
    let big = 1_704_164_645_123_456_789_i64;
    let mut docs = vec![json!({"n": big + 1}), json!({"n": big}), json!({"n": 1.5})];
    sort_docs(&mut docs, &[SortField::new("n", 1)]);
    let ns: Vec<Value> = docs.iter().map(|d| d["n"].clone()).collect();
    assert_eq!(ns, [json!(1.5), json!(big), json!(big + 1)]);
}
