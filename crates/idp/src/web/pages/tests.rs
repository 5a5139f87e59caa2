//! Every page escapes every value it shows, and keeps the markup clients read.

use super::*;

/// Breaks out of an attribute with either quote, then opens a script.
const HOSTILE: &str = r#"x"' onfocus="alert(1)"><script>alert(1)</script>"#;
const ESCAPED: &str =
    "x&quot;' onfocus=&quot;alert(1)&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;";

/// `page` shows `HOSTILE` somewhere, and only ever escaped.
fn assert_escaped(page: &str) {
    assert!(page.contains(ESCAPED), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("\"'"), "{page}");
    assert!(!page.contains(" onfocus=\""), "{page}");
}

fn hostile_scopes() -> Vec<(String, String)> {
    vec![(HOSTILE.to_owned(), HOSTILE.to_owned())]
}

#[test]
fn the_sign_in_page_escapes_client_name_hint_request_accounts_and_error() {
    let accounts = [PickerEntry {
        upn: HOSTILE.to_owned(),
        name: HOSTILE.to_owned(),
    }];
    let page = login(
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        Some(HOSTILE),
        &accounts,
        Some(HOSTILE),
    );
    assert_escaped(&page);
    // client name, error, the picked account (name, upn as value and text),
    // action, csrf and request in both forms, hint.
    assert_eq!(page.matches(ESCAPED).count(), 12, "{page}");
    let page = login("/t/login", "c", "r", HOSTILE, None, &[], None);
    assert_escaped(&page);
}

#[test]
fn the_consent_page_escapes_client_resource_and_scopes() {
    let page = consent(
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        &hostile_scopes(),
    );
    assert_escaped(&page);
    assert_eq!(page.matches(ESCAPED).count(), 7, "{page}");
}

#[test]
fn the_device_pages_escape_code_client_user_and_error() {
    let page = device_confirm(
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        &hostile_scopes(),
    );
    assert_escaped(&page);
    assert_eq!(page.matches(ESCAPED).count(), 9, "{page}");
    let page = device(HOSTILE, HOSTILE, Some(HOSTILE), Some(HOSTILE));
    assert_escaped(&page);
    assert_eq!(page.matches(ESCAPED).count(), 4, "{page}");
}

#[test]
fn the_error_page_escapes_the_message_and_trace_id() {
    let e = OAuthError::invalid_request(90_015, HOSTILE);
    let page = error(&e, HOSTILE);
    assert_escaped(&page);
    assert_eq!(page.matches(ESCAPED).count(), 2, "{page}");
    assert!(page.contains("<b>AADSTS90015</b>: "), "{page}");
}

#[test]
fn the_form_post_page_escapes_action_names_and_values_and_still_submits() {
    let page = form_post(HOSTILE, &hostile_scopes());
    assert_escaped(&page);
    assert_eq!(page.matches(ESCAPED).count(), 3, "{page}");
    let page = form_post(
        "https://app.test/cb",
        &[
            ("code".to_owned(), "a&b".to_owned()),
            ("state".to_owned(), "s".to_owned()),
        ],
    );
    assert!(
        page.contains(r#"<body onload="document.forms[0].submit()"><form method="post" action="https://app.test/cb">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<input type="hidden" name="code" value="a&amp;b"><input type="hidden" name="state" value="s">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<noscript><button type="submit">Continue</button></noscript>"#),
        "{page}"
    );
}

#[test]
fn the_authority_and_message_pages_escape_what_they_show() {
    let page = authority(HOSTILE, HOSTILE, HOSTILE, &[(HOSTILE, HOSTILE.to_owned())]);
    assert_escaped(&page);
    assert_eq!(page.matches(ESCAPED).count(), 5, "{page}");
    let page = message(HOSTILE, HOSTILE);
    assert_escaped(&page);
    // The title element, the heading and the text.
    assert_eq!(page.matches(ESCAPED).count(), 3, "{page}");
}

#[test]
fn the_forms_keep_the_field_names_clients_read() {
    let page = login(
        "/t/login",
        "tok",
        "a=1&b=2",
        "App",
        Some("alice@x"),
        &[],
        None,
    );
    for field in [
        r#"<input type="hidden" name="csrf" value="tok">"#,
        r#"<input type="hidden" name="request" value="a=1&amp;b=2">"#,
        r#"<input id="username" name="username" type="text" autocomplete="username" value="alice@x" required>"#,
        r#"<input id="password" name="password" type="password" autocomplete="current-password">"#,
        r#"<button id="submit" type="submit">Sign in</button>"#,
    ] {
        assert!(page.contains(field), "{field} in {page}");
    }
    assert!(
        page.starts_with("<!doctype html><html lang=\"en\">"),
        "{page}"
    );
}
