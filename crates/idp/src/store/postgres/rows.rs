//! Rows to records.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Context, PostgresUrl};
use crate::store::key_encryption::KeyEncryptionKey;
use crate::store::{
    AuthCode, DeviceGrant, DeviceState, Digest, KeyRecord, RefreshRecord, StoreError,
};

pub(super) fn code_from_row(row: &PgRow) -> Result<AuthCode, StoreError> {
    let decode = || -> Result<AuthCode, sqlx::Error> {
        let challenge: Option<String> = row.try_get("code_challenge")?;
        let method: Option<String> = row.try_get("code_challenge_method")?;
        Ok(AuthCode {
            digest: [0; 32],
            client_id: row.try_get("client_id")?,
            redirect_uri: row.try_get("redirect_uri")?,
            user_id: row.try_get("user_id")?,
            scope: row.try_get("scope")?,
            nonce: row.try_get("nonce")?,
            code_challenge: challenge.zip(method),
            session_id: row.try_get("session_id")?,
            auth_time: row.try_get("auth_time")?,
            tenant_path: row.try_get("tenant_path")?,
            expires_at: row.try_get("expires_at")?,
        })
    };
    let mut code = decode().context("decode code")?;
    code.digest = digest_from_row(row)?;
    Ok(code)
}

pub(super) fn refresh_from_row(row: &PgRow) -> Result<RefreshRecord, StoreError> {
    let decode = || -> Result<RefreshRecord, sqlx::Error> {
        Ok(RefreshRecord {
            digest: [0; 32],
            family_id: row.try_get("family_id")?,
            client_id: row.try_get("client_id")?,
            user_id: row.try_get("user_id")?,
            session_id: row.try_get("session_id")?,
            auth_time: row.try_get("auth_time")?,
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
            spa: row.try_get("spa")?,
            resource: row.try_get("resource")?,
            scope: row.try_get("scope")?,
            client_auth: row.try_get("client_auth")?,
        })
    };
    let mut record = decode().context("decode refresh token")?;
    record.digest = digest_from_row(row)?;
    Ok(record)
}

pub(super) fn device_from_row(row: &PgRow) -> Result<DeviceGrant, StoreError> {
    let decode = || -> Result<(DeviceGrant, String, Option<String>, Option<i64>), sqlx::Error> {
        let grant = DeviceGrant {
            digest: [0; 32],
            user_code: row.try_get("user_code")?,
            client_id: row.try_get("client_id")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
            state: DeviceState::Pending,
            tenant_path: row.try_get("tenant_path")?,
        };
        Ok((
            grant,
            row.try_get("state")?,
            row.try_get("user_id")?,
            row.try_get("auth_time")?,
        ))
    };
    let (mut grant, state, user_id, auth_time) = decode().context("decode device grant")?;
    grant.digest = digest_from_row(row)?;
    grant.state = match (state.as_str(), user_id, auth_time) {
        ("pending", _, _) => DeviceState::Pending,
        ("declined", _, _) => DeviceState::Declined,
        ("approved", Some(user_id), Some(auth_time)) => {
            DeviceState::Approved { user_id, auth_time }
        }
        (other, _, _) => {
            return Err(StoreError(format!(
                "decode device grant: unexpected state {other:?}"
            )));
        }
    };
    Ok(grant)
}

/// A signing key, its private key opened with `kek`.
pub(super) fn key_from_row(
    row: &PgRow,
    kek: &KeyEncryptionKey,
    url: &PostgresUrl,
) -> Result<KeyRecord, StoreError> {
    let decode = || -> Result<(KeyRecord, Vec<u8>), sqlx::Error> {
        let record = KeyRecord {
            kid: row.try_get("kid")?,
            pkcs8: Vec::new(),
            certificate: row.try_get("certificate")?,
            created_at: row.try_get("created_at")?,
            active_from: row.try_get("active_from")?,
            retired_at: row.try_get("retired_at")?,
            unpublish_at: row.try_get("unpublish_at")?,
        };
        Ok((record, row.try_get("pkcs8_sealed")?))
    };
    let (mut record, sealed) = decode().context("decode signing key")?;
    record.pkcs8 = kek.open(&record.kid, &sealed).map_err(|_| {
        StoreError(format!(
            "the key-encryption key cannot decrypt the signing key {:?} stored in {}",
            record.kid, url
        ))
    })?;
    Ok(record)
}

pub(super) fn digest_from_row(row: &PgRow) -> Result<Digest, StoreError> {
    let bytes: Vec<u8> = row.try_get("digest").context("decode digest")?;
    let found = bytes.len();
    bytes
        .try_into()
        .map_err(|_| StoreError(format!("decode digest: expected 32 bytes, found {found}")))
}

/// The `state`, `user_id` and `auth_time` columns for a device state.
pub(super) fn state_columns(state: &DeviceState) -> (&'static str, Option<&str>, Option<i64>) {
    match state {
        DeviceState::Approved { user_id, auth_time } => {
            ("approved", Some(user_id), Some(*auth_time))
        }
        DeviceState::Declined => ("declined", None, None),
        DeviceState::Pending => ("pending", None, None),
    }
}
