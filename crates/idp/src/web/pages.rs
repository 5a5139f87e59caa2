//! The HTML pages: sign-in, consent, errors, form_post, signed out.
//! Every dynamic value goes through [`escape`].

use crate::protocol::errors::OAuthError;

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title><style>
body{{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f4f6;color:#1f2937;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}}
main{{background:#fff;padding:2rem 2.25rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);width:min(26rem,92vw)}}
h1{{font-size:1.35rem;margin:0 0 .25rem}} .sub{{color:#6b7280;margin:0 0 1.25rem}} .brand{{font-weight:600;color:#2563eb;letter-spacing:.02em;margin-bottom:1rem}}
label{{display:block;font-weight:500;margin:.75rem 0 .25rem}} input[type=text],input[type=password]{{width:100%;box-sizing:border-box;padding:.55rem .65rem;border:1px solid #d1d5db;border-radius:6px;font:inherit}}
button{{margin-top:1rem;padding:.55rem 1rem;border:0;border-radius:6px;background:#2563eb;color:#fff;font:inherit;cursor:pointer}} button.secondary{{background:#e5e7eb;color:#111827}}
.account{{display:block;width:100%;text-align:left;background:#f9fafb;color:#111827;border:1px solid #e5e7eb}} .error{{background:#fef2f2;color:#991b1b;padding:.6rem .75rem;border-radius:6px;margin:.5rem 0}}
ul{{padding-left:1.2rem}} code{{font-size:.85em;background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}} .row{{display:flex;gap:.5rem}}
</style></head><body><main><div class="brand">rolegate · local identity provider</div>{body}</main></body></html>"#
    )
}

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
    let error = error
        .map(|e| format!(r#"<div class="error" role="alert">{}</div>"#, escape(e)))
        .unwrap_or_default();
    let hidden = format!(
        r#"<input type="hidden" name="csrf" value="{}"><input type="hidden" name="request" value="{}">"#,
        escape(csrf),
        escape(request)
    );
    let picker: String = if accounts.is_empty() {
        String::new()
    } else {
        let buttons: String = accounts
            .iter()
            .map(|a| {
                format!(
                    r#"<button class="account" type="submit" name="pick" value="{}">{} <span class="sub">{}</span></button>"#,
                    escape(&a.upn),
                    escape(&a.name),
                    escape(&a.upn)
                )
            })
            .collect();
        format!(
            r#"<form method="post" action="{}">{hidden}<p class="sub">Pick an account</p>{buttons}</form><hr>"#,
            escape(action)
        )
    };
    let body = format!(
        r#"<h1>Sign in</h1><p class="sub">to continue to {client}</p>{error}{picker}<form method="post" action="{action}">{hidden}
<label for="username">Email or username</label><input id="username" name="username" type="text" autocomplete="username" value="{hint}" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button id="submit" type="submit">Sign in</button></form>"#,
        client = escape(client_name),
        action = escape(action),
        hint = escape(login_hint.unwrap_or_default()),
    );
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
    let items = scope_items(scopes);
    let body = format!(
        r#"<h1>Permissions requested</h1><p class="sub"><b>{client}</b> wants to access <b>{resource}</b> on your behalf:</p><ul>{items}</ul>
<form method="post" action="{action}"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="consent" value="{handle}">
<div class="row"><button id="accept" type="submit" name="decision" value="accept">Accept</button><button id="cancel" class="secondary" type="submit" name="decision" value="cancel">Cancel</button></div></form>"#,
        client = escape(client_name),
        resource = escape(resource_name),
        action = escape(action),
        csrf = escape(csrf),
        handle = escape(handle),
    );
    layout("Permissions requested", &body)
}

fn scope_items(scopes: &[(String, String)]) -> String {
    scopes
        .iter()
        .map(|(value, text)| {
            format!(
                "<li><b>{}</b> <code>{}</code></li>",
                escape(text),
                escape(value)
            )
        })
        .collect()
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
    let items = if scopes.is_empty() {
        "<li>Sign you in and read your basic profile</li>".to_owned()
    } else {
        scope_items(scopes)
    };
    let body = format!(
        r#"<h1>Are you trying to sign in to {client}?</h1><p class="sub">Signed in as <b>{user}</b>. Continue only if you started this sign-in on your own device (code <code>{code}</code>). <b>{client}</b> will be able to:</p><ul>{items}</ul>
<form method="post" action="{action}"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="user_code" value="{code}">
<div class="row"><button id="confirm" type="submit" name="decision" value="confirm">Continue</button><button id="decline" class="secondary" type="submit" name="decision" value="decline">Cancel</button></div></form>"#,
        client = escape(client_name),
        user = escape(user),
        code = escape(user_code),
        action = escape(action),
        csrf = escape(csrf),
    );
    layout("Confirm sign-in", &body)
}

/// An error page (untrusted client or redirect URI, bad tenant…).
pub fn error(e: &OAuthError, trace_id: &str) -> String {
    let body = format!(
        r#"<h1>Sorry, but we're having trouble signing you in.</h1><div class="error"><b>{}</b>: {}</div><p class="sub">Trace ID: {}</p>"#,
        escape(&format!("AADSTS{}", e.code)),
        escape(&e.message),
        escape(trace_id)
    );
    layout("Sign-in error", &body)
}

/// The auto-submitting form of `response_mode=form_post`.
pub fn form_post(action: &str, fields: &[(String, String)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="post" action="{}">{inputs}<noscript><button type="submit">Continue</button></noscript></form></body></html>"#,
        escape(action)
    )
}

/// The device-code verification page (`/devicelogin`).
pub fn device(action: &str, csrf: &str, user_code: Option<&str>, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<div class="error" role="alert">{}</div>"#, escape(e)))
        .unwrap_or_default();
    let body = format!(
        r#"<h1>Enter code</h1><p class="sub">Sign in on another device: enter the code it shows, then your account.</p>{error}
<form method="post" action="{action}"><input type="hidden" name="csrf" value="{csrf}">
<label for="user_code">Code</label><input id="user_code" name="user_code" type="text" autocomplete="one-time-code" value="{code}" required>
<label for="username">Email or username</label><input id="username" name="username" type="text" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<div class="row"><button id="approve" type="submit" name="decision" value="approve">Sign in</button><button id="decline" class="secondary" type="submit" name="decision" value="decline">Decline</button></div></form>"#,
        action = escape(action),
        csrf = escape(csrf),
        code = escape(user_code.unwrap_or_default()),
    );
    layout("Enter code", &body)
}

/// The authority's own page: the tenant and its endpoints.
pub fn authority(
    authority: &str,
    tenant_id: &str,
    domain: &str,
    endpoints: &[(&str, String)],
) -> String {
    let rows: String = endpoints
        .iter()
        .map(|(what, url)| format!("<li>{}<br><code>{}</code></li>", escape(what), escape(url)))
        .collect();
    let body = format!(
        r#"<h1>Authority</h1><p class="sub"><code>{authority}</code> is tenant <b>{domain}</b> (<code>{tenant_id}</code>). Configure MSAL with it as <code>authority</code>; its endpoints:</p><ul>{rows}</ul>"#,
        authority = escape(authority),
        domain = escape(domain),
        tenant_id = escape(tenant_id),
    );
    layout("Authority", &body)
}

/// A one-line result page.
pub fn message(title: &str, text: &str) -> String {
    layout(
        title,
        &format!(
            "<h1>{}</h1><p class=\"sub\">{}</p>",
            escape(title),
            escape(text)
        ),
    )
}

/// After logout without a redirect.
pub fn signed_out() -> String {
    layout(
        "Signed out",
        "<h1>You signed out of your account</h1><p class=\"sub\">It's a good idea to close all browser windows.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_dynamic() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let page = login(
            "/t/login",
            "c",
            "a=<b>",
            "<script>",
            Some("\"><x"),
            &[],
            Some("<i>"),
        );
        assert!(!page.contains("<script>"));
        assert!(!page.contains("\"><x"));
        assert!(!page.contains("<i>"));
    }
}
