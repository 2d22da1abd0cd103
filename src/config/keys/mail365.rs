//! The keys of mail through Microsoft 365: `mail.transport`, `smtp.auth` and the OAuth2 app
//! registration `mail.oauth.*` (see `docs/guide/mail-microsoft365.md`). Listed in [`super::KEYS`].

use super::KeyDef;
use crate::notify::oauth;
use crate::notify::settings::{SmtpAuth, Transport};
use crate::vault;

pub(in crate::config) const TRANSPORT: KeyDef = KeyDef {
    key: "mail.transport",
    default: "smtp",
    rule: "one of smtp, graph",
    help: "how mail is sent: an SMTP relay (smtp.*) or Microsoft Graph sendMail (mail.oauth.*)",
    normalize: norm_transport,
};

pub(in crate::config) const SMTP_AUTH: KeyDef = KeyDef {
    key: "smtp.auth",
    default: "password",
    rule: "one of password, xoauth2",
    help: "SMTP login: the password of smtp.password_credential, or XOAUTH2 with a token of \
           the mail.oauth.* app",
    normalize: norm_smtp_auth,
};

pub(in crate::config) const TENANT_ID: KeyDef = KeyDef {
    key: "mail.oauth.tenant_id",
    default: "",
    rule: oauth::TENANT_RULE,
    help: "Microsoft Entra tenant of the app that sends mail (graph transport, XOAUTH2)",
    normalize: norm_tenant,
};

pub(in crate::config) const CLIENT_ID: KeyDef = KeyDef {
    key: "mail.oauth.client_id",
    default: "",
    rule: oauth::CLIENT_ID_RULE,
    help: "application (client) ID of that app registration",
    normalize: norm_client_id,
};

const SECRET_RULE: &str = "the name of an existing credential of kind smtp_password or secret \
                           holding the app's client secret (`orc credential set NAME`), or empty";

pub(in crate::config) const CLIENT_SECRET_CREDENTIAL: KeyDef = KeyDef {
    key: "mail.oauth.client_secret_credential",
    default: "",
    rule: SECRET_RULE,
    help: "vault credential holding the app's client secret",
    normalize: norm_secret_credential,
};

fn norm_transport(v: &str) -> Result<String, String> {
    Transport::parse(v).map(|t| t.as_str().to_string()).map_err(|_| TRANSPORT.rule.to_string())
}

fn norm_smtp_auth(v: &str) -> Result<String, String> {
    SmtpAuth::parse(v).map(|a| a.as_str().to_string()).map_err(|_| SMTP_AUTH.rule.to_string())
}

fn norm_tenant(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    oauth::check_tenant(v).map_err(|_| TENANT_ID.rule.to_string())
}

fn norm_client_id(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    oauth::check_client_id(v).map_err(|_| CLIENT_ID.rule.to_string())
}

fn norm_secret_credential(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    vault::validate_credential_name(v).map_err(|_| SECRET_RULE.to_string())?;
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use crate::config::normalize;

    #[test]
    fn values_are_canonicalised_or_refused_naming_the_key() {
        let ok = |k: &str, v: &str| normalize(k, v).unwrap_or_else(|e| panic!("{k}={v:?}: {e}"));
        assert_eq!(ok("mail.transport", "Graph"), "graph");
        assert_eq!(ok("smtp.auth", "XOAUTH2"), "xoauth2");
        assert_eq!(
            ok("mail.oauth.tenant_id", "0D1C7E3A-6B8F-4C2D-9E1A-5F4B3C2D1E0F"),
            "0d1c7e3a-6b8f-4c2d-9e1a-5f4b3c2d1e0f"
        );
        assert_eq!(
            ok("mail.oauth.tenant_id", "Contoso.onmicrosoft.com"),
            "contoso.onmicrosoft.com"
        );
        assert_eq!(
            ok("mail.oauth.client_id", "11111111-2222-3333-4444-555555555555"),
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(ok("mail.oauth.client_secret_credential", "m365-app"), "m365-app");
        for (k, v) in [
            ("mail.transport", "ews"),
            ("smtp.auth", "ntlm"),
            ("mail.oauth.tenant_id", "common"),
            ("mail.oauth.tenant_id", "organizations"),
            ("mail.oauth.tenant_id", "a/b"),
            ("mail.oauth.tenant_id", "x?y=1"),
            ("mail.oauth.client_id", "my-app"),
            ("mail.oauth.client_id", "11111111-2222-3333-4444-55555555555g"),
            ("mail.oauth.client_secret_credential", "a b"),
        ] {
            let e = normalize(k, v).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{k}={v:?}");
            assert!(e.to_string().contains(k), "{k}={v:?}: {e}");
        }
    }
}
