//! The Stream routes of both families on one router: every method of [`METHODS`] at its v2 and
//! v1 paths, on its handler when this server implements it and on a 501 naming it otherwise;
//! the WebSocket at `/connect`; and a Stream 404 for any other path under the Stream prefixes.

use std::collections::BTreeMap;

use axum::http::Method as HttpMethod;
use axum::routing::{get, on, MethodFilter, MethodRouter};
use axum::Router;
use proto::stream::error::StreamError;

use super::error::ApiError;
use super::methods::{Method, METHODS};
use super::{
    app, channel_ops, channels, edit, lifecycle, members, messages, reactions, read, users, ws,
    Stream,
};

/// The handler of an implemented method, by SDK name.
fn implemented(name: &str, filter: MethodFilter) -> Option<MethodRouter<Stream>> {
    Some(match name {
        "get_app" => on(filter, app::get),
        "update_users" => on(filter, users::upsert),
        "update_users_partial" => on(filter, users::partial),
        "query_users" => on(filter, users::query_users),
        "deactivate_user" => on(filter, lifecycle::deactivate),
        "reactivate_user" => on(filter, lifecycle::reactivate),
        "deleteUser" => on(filter, lifecycle::delete),
        "create_guest" => on(filter, lifecycle::guest),
        "get_or_create_channel" => on(filter, channels::query),
        "get_or_create_distinct_channel" => on(filter, channels::query_distinct),
        "query_channels" => on(filter, channels::query_channels),
        "send_message" => on(filter, messages::send),
        "get_message" => on(filter, messages::get),
        "update_message" => on(filter, edit::update),
        "update_message_partial" => on(filter, edit::partial),
        "delete_message" => on(filter, edit::delete),
        "undelete_message" => on(filter, edit::undelete),
        "get_replies" => on(filter, edit::replies),
        "send_reaction" => on(filter, reactions::send),
        "delete_reaction" => on(filter, reactions::delete),
        "mark_read" => on(filter, read::mark_read),
        "send_event" => on(filter, read::send_event),
        "update_channel" => on(filter, channel_ops::update),
        "update_channel_partial" => on(filter, channel_ops::update_partial),
        "delete_channel" => on(filter, channel_ops::delete),
        "truncate_channel" => on(filter, channel_ops::truncate),
        "hide_channel" => on(filter, channel_ops::hide),
        "show_channel" => on(filter, channel_ops::show),
        "query_members" => on(filter, members::query),
        "unread_counts" => on(filter, read::unread_counts),
        "stopWatching" => on(filter, channel_ops::stop_watching),
        _ => return None,
    })
}

/// Whether this server implements the method (the README's compatibility table).
pub fn is_implemented(name: &str) -> bool {
    implemented(name, MethodFilter::GET).is_some()
}

fn not_supported(name: &'static str, filter: MethodFilter) -> MethodRouter<Stream> {
    on(filter, move || async move {
        ApiError::from(StreamError::not_supported(name))
    })
}

/// Path parameters renamed by position (`{p1}`, `{p2}`…): the router wants one name per
/// position, and the SDK tables name them differently per method.
fn normalize(path: &str) -> String {
    let mut n = 0;
    path.split('/')
        .map(|seg| match seg.starts_with('{') {
            true => {
                n += 1;
                format!("{{p{n}}}")
            }
            false => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn filter_of(m: &Method) -> MethodFilter {
    let http: HttpMethod = m.http.parse().expect("the table holds HTTP methods");
    MethodFilter::try_from(http).expect("the table holds standard methods")
}

pub fn router(state: Stream) -> Router {
    routes().with_state(state)
}

/// The routes, before the state is given.
fn routes() -> Router<Stream> {
    let mut by_path: BTreeMap<String, MethodRouter<Stream>> = BTreeMap::new();
    for m in METHODS {
        for path in [m.v2, m.v1].into_iter().flatten() {
            let filter = filter_of(m);
            let handler =
                implemented(m.name, filter).unwrap_or_else(|| not_supported(m.name, filter));
            let path = normalize(path);
            let merged = match by_path.remove(&path) {
                Some(existing) => existing.merge(handler),
                None => handler,
            };
            by_path.insert(path, merged);
        }
    }
    let mut router = Router::new().route("/connect", get(ws::upgrade));
    // Unknown paths under a Stream prefix get the Stream 404, not the GS2 fallback's: a
    // catch-all per first segment, where the router allows one (not beside a `/{p}/{param}`).
    let mut prefixes: Vec<String> = vec!["api/v2".into()];
    for path in by_path.keys() {
        let first = path.split('/').nth(1).unwrap_or_default();
        let has_param_child = by_path
            .keys()
            .any(|k| k.starts_with(&format!("/{first}/{{")));
        if first != "api" && !has_param_child && !prefixes.iter().any(|p| p == first) {
            prefixes.push(first.to_string());
        }
    }
    for (path, handler) in by_path {
        router = router.route(&path, handler);
    }
    let unknown = || async { ApiError::from(StreamError::not_found("no such endpoint")) };
    for p in prefixes {
        router = router.route(&format!("/{p}/{{*rest}}"), axum::routing::any(unknown));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_router_builds_without_overlaps() {
        let _ = routes();
    }

    #[test]
    fn parameters_are_renamed_by_position() {
        assert_eq!(
            normalize("/messages/{message_id}/polls/{poll_id}/vote"),
            "/messages/{p1}/polls/{p2}/vote"
        );
        assert_eq!(normalize("/users"), "/users");
    }

    #[test]
    fn every_method_of_the_table_has_a_route_and_the_implemented_ones_are_named() {
        assert!(is_implemented("query_users"));
        assert!(!is_implemented("get_pinned_messages"));
        assert!(METHODS.len() > 180);
    }
}

#[cfg(test)]
mod readme_tests {
    use super::*;

    /// The README's Stream table says, for every method of the table, what the router does.
    #[test]
    fn the_readme_table_matches_the_routes() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md beside the workspace");
        for m in METHODS {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` | {} |", m.name, m.http)))
                .unwrap_or_else(|| panic!("README has no row for {} {}", m.http, m.name));
            let says_implemented = row.contains("✅ implemented");
            assert_eq!(
                says_implemented,
                is_implemented(m.name),
                "README row for {}: {row}",
                m.name
            );
        }
    }
}
