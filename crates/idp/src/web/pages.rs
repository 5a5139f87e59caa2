//! The HTML pages: sign-in, consent, device code, errors, `form_post`,
//! the authority page, signed out.
//!
//! Templates are maud's `html!`, checked when the crate compiles. maud
//! escapes every spliced value, in element content and in attribute values
//! alike (`&`, `<`, `>`, `"`; attributes are always double-quoted), so no
//! value from a request, the tenant file or an error reaches the page as
//! markup. Only the static style sheet and the doctype are pre-escaped.

use maud::{Markup, PreEscaped, html};

use crate::protocol::errors::OAuthError;

/// One passwordless account on the picker.
#[derive(Debug, Clone)]
pub struct PickerEntry {
    /// Sign-in name.
    pub upn: String,
    /// Display name.
    pub name: String,
}

/// The sign-in page.
pub fn login(
    action: &str,
    csrf: &str,
    request: &str,
    client_name: &str,
    login_hint: Option<&str>,
    accounts: &[PickerEntry],
    error: Option<&str>,
) -> String {
    let hidden = html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="request" value=(request);
    };
    let body = html! {
        h1 { "Sign in" }
        p class="sub" { "to continue to " (client_name) }
        (alert(error))
        @if !accounts.is_empty() {
            form method="post" action=(action) {
                (hidden)
                p class="sub" { "Pick an account" }
                @for account in accounts {
                    button class="account" type="submit" name="pick" value=(account.upn) {
                        (account.name) " " span class="sub" { (account.upn) }
                    }
                }
            }
            hr;
        }
        form method="post" action=(action) {
            (hidden)
            label for="username" { "Email or username" }
            input id="username" name="username" type="text" autocomplete="username"
                value=(login_hint.unwrap_or_default()) required;
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password";
            button id="submit" type="submit" { "Sign in" }
        }
    };
    layout("Sign in", &body)
}

/// The consent page. The form carries only the CSRF token, the handle of
/// the pending consent the server stored, and the answer.
pub fn consent(
    action: &str,
    csrf: &str,
    handle: &str,
    client_name: &str,
    resource_name: &str,
    scopes: &[(String, String)],
) -> String {
    let body = html! {
        h1 { "Permissions requested" }
        p class="sub" {
            b { (client_name) } " wants to access " b { (resource_name) } " on your behalf:"
        }
        ul { (scope_items(scopes)) }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="consent" value=(handle);
            div class="row" {
                button id="accept" type="submit" name="decision" value="accept" { "Accept" }
                button id="cancel" class="secondary" type="submit" name="decision" value="cancel" { "Cancel" }
            }
        }
    };
    layout("Permissions requested", &body)
}

/// The device-code confirmation: which app, as whom, with what.
pub fn device_confirm(
    action: &str,
    csrf: &str,
    user_code: &str,
    client_name: &str,
    user: &str,
    scopes: &[(String, String)],
) -> String {
    let body = html! {
        h1 { "Are you trying to sign in to " (client_name) "?" }
        p class="sub" {
            "Signed in as " b { (user) } ". Continue only if you started this sign-in on your own device (code "
            code { (user_code) } "). " b { (client_name) } " will be able to:"
        }
        ul {
            @if scopes.is_empty() {
                li { "Sign you in and read your basic profile" }
            } @else {
                (scope_items(scopes))
            }
        }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="user_code" value=(user_code);
            div class="row" {
                button id="confirm" type="submit" name="decision" value="confirm" { "Continue" }
                button id="decline" class="secondary" type="submit" name="decision" value="decline" { "Cancel" }
            }
        }
    };
    layout("Confirm sign-in", &body)
}

/// An error page (untrusted client or redirect URI, bad tenant…).
pub fn error(e: &OAuthError, trace_id: &str) -> String {
    let body = html! {
        h1 { "Sorry, but we're having trouble signing you in." }
        div class="error" { b { "AADSTS" (e.code) } ": " (e.message) }
        p class="sub" { "Trace ID: " (trace_id) }
    };
    layout("Sign-in error", &body)
}

/// The auto-submitting form of `response_mode=form_post`.
pub fn form_post(action: &str, fields: &[(String, String)]) -> String {
    html! {
        (PreEscaped(DOCTYPE))
        html {
            head { title { "Working..." } }
            body onload="document.forms[0].submit()" {
                form method="post" action=(action) {
                    @for (name, value) in fields {
                        input type="hidden" name=(name) value=(value);
                    }
                    noscript { button type="submit" { "Continue" } }
                }
            }
        }
    }
    .into_string()
}

/// The device-code verification page (`/devicelogin`).
pub fn device(action: &str, csrf: &str, user_code: Option<&str>, error: Option<&str>) -> String {
    let body = html! {
        h1 { "Enter code" }
        p class="sub" { "Sign in on another device: enter the code it shows, then your account." }
        (alert(error))
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            label for="user_code" { "Code" }
            input id="user_code" name="user_code" type="text" autocomplete="one-time-code"
                value=(user_code.unwrap_or_default()) required;
            label for="username" { "Email or username" }
            input id="username" name="username" type="text" autocomplete="username";
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password";
            div class="row" {
                button id="approve" type="submit" name="decision" value="approve" { "Sign in" }
                button id="decline" class="secondary" type="submit" name="decision" value="decline" { "Decline" }
            }
        }
    };
    layout("Enter code", &body)
}

/// The authority's own page: the tenant and its endpoints.
pub fn authority(
    authority: &str,
    tenant_id: &str,
    domain: &str,
    endpoints: &[(&str, String)],
) -> String {
    let body = html! {
        h1 { "Authority" }
        p class="sub" {
            code { (authority) } " is tenant " b { (domain) } " (" code { (tenant_id) }
            "). Configure MSAL with it as " code { "authority" } "; its endpoints:"
        }
        ul {
            @for (what, url) in endpoints {
                li { (what) br; code { (url) } }
            }
        }
    };
    layout("Authority", &body)
}

/// A one-line result page.
pub fn message(title: &str, text: &str) -> String {
    let body = html! {
        h1 { (title) }
        p class="sub" { (text) }
    };
    layout(title, &body)
}

/// After logout without a redirect.
pub fn signed_out() -> String {
    let body = html! {
        h1 { "You signed out of your account" }
        p class="sub" { "It's a good idea to close all browser windows." }
    };
    layout("Signed out", &body)
}

fn layout(title: &str, body: &Markup) -> String {
    html! {
        (PreEscaped(DOCTYPE))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    div class="brand" { "rolegate · local identity provider" }
                    (body)
                }
            }
        }
    }
    .into_string()
}

/// The error banner of a form page, if any.
fn alert(error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            div class="error" role="alert" { (error) }
        }
    }
}

fn scope_items(scopes: &[(String, String)]) -> Markup {
    html! {
        @for (value, text) in scopes {
            li { b { (text) } " " code { (value) } }
        }
    }
}

const DOCTYPE: &str = "<!doctype html>";

/// The pages' style sheet (static; no value is spliced into it).
const STYLE: &str = r#"
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f4f6;color:#1f2937;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;padding:2rem 2.25rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);width:min(26rem,92vw)}
h1{font-size:1.35rem;margin:0 0 .25rem} .sub{color:#6b7280;margin:0 0 1.25rem} .brand{font-weight:600;color:#2563eb;letter-spacing:.02em;margin-bottom:1rem}
label{display:block;font-weight:500;margin:.75rem 0 .25rem} input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.55rem .65rem;border:1px solid #d1d5db;border-radius:6px;font:inherit}
button{margin-top:1rem;padding:.55rem 1rem;border:0;border-radius:6px;background:#2563eb;color:#fff;font:inherit;cursor:pointer} button.secondary{background:#e5e7eb;color:#111827}
.account{display:block;width:100%;text-align:left;background:#f9fafb;color:#111827;border:1px solid #e5e7eb} .error{background:#fef2f2;color:#991b1b;padding:.6rem .75rem;border-radius:6px;margin:.5rem 0}
ul{padding-left:1.2rem} code{font-size:.85em;background:#f3f4f6;padding:.1rem .3rem;border-radius:4px} .row{display:flex;gap:.5rem}
"#;

#[cfg(test)]
mod tests;
