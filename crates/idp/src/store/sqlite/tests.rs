use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::secret;

/// A database file in the temp dir, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> TempDb {
        TempDb(std::env::temp_dir().join(format!("rolegate-store-{}.db", secret::random_token(9))))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn code(digest: Digest) -> AuthCode {
    AuthCode {
        digest,
        client_id: "client".into(),
        redirect_uri: "http://localhost/cb".into(),
        user_id: "user".into(),
        scope: "openid api://x/read".into(),
        nonce: Some("n-0S6".into()),
        code_challenge: Some((
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            "S256".into(),
        )),
        session_id: "sid".into(),
        auth_time: 1_000,
        tenant_path: "organizations".into(),
        expires_at: 1_600,
    }
}

fn refresh(digest: Digest, family: &str) -> RefreshRecord {
    RefreshRecord {
        digest,
        family_id: family.into(),
        client_id: "client".into(),
        user_id: "user".into(),
        session_id: "sid".into(),
        auth_time: 1_000,
        issued_at: 1_000,
        expires_at: 2_000,
        spa: false,
        resource: "api://api".into(),
        scope: "api://api/read".into(),
        client_auth: "secret".into(),
    }
}

fn device(digest: Digest, user_code: &str) -> DeviceGrant {
    DeviceGrant {
        digest,
        user_code: user_code.into(),
        client_id: "cli".into(),
        scope: "openid".into(),
        expires_at: 1_900,
        state: DeviceState::Pending,
        tenant_path: "contoso.test".into(),
    }
}

fn key(kid: &str, created_at: i64) -> KeyRecord {
    KeyRecord {
        kid: kid.into(),
        pkcs8: vec![1, 2, 3],
        certificate: vec![4, 5],
        created_at,
        active_from: created_at,
        retired_at: None,
        unpublish_at: None,
    }
}

#[tokio::test]
async fn codes_are_taken_once() {
    let store = SqliteStore::in_memory().await.unwrap();
    let with_pkce = code([1; 32]);
    let without = AuthCode {
        digest: [2; 32],
        nonce: None,
        code_challenge: None,
        ..code([2; 32])
    };
    store.put_code(&with_pkce).await.unwrap();
    store.put_code(&without).await.unwrap();
    assert!(
        store.put_code(&with_pkce).await.is_err(),
        "digests are unique"
    );

    assert_eq!(
        store.take_code(&[1; 32], "f1").await.unwrap(),
        CodeRedemption::Redeemed(Box::new(with_pkce))
    );
    assert_eq!(
        store.take_code(&[1; 32], "f2").await.unwrap(),
        CodeRedemption::Replayed {
            family_id: Some("f1".into())
        },
        "a replay names the family the first redemption started"
    );
    assert_eq!(
        store.take_code(&[2; 32], "f3").await.unwrap(),
        CodeRedemption::Redeemed(Box::new(without))
    );
    assert_eq!(
        store.take_code(&[9; 32], "f4").await.unwrap(),
        CodeRedemption::Unknown
    );
}

#[tokio::test]
async fn expired_codes_are_still_returned() {
    let store = SqliteStore::in_memory().await.unwrap();
    let expired = AuthCode {
        expires_at: 10,
        ..code([3; 32])
    };
    store.put_code(&expired).await.unwrap();
    assert_eq!(
        store.take_code(&[3; 32], "f").await.unwrap(),
        CodeRedemption::Redeemed(Box::new(expired))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_yield_one_winner() {
    let db = TempDb::new();
    let store = Arc::new(SqliteStore::open(&db.0).await.unwrap());
    for round in 0..5u8 {
        let digest = [round; 32];
        store.put_code(&code(digest)).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.take_code(&digest, "f").await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            winners += usize::from(matches!(task.await.unwrap(), CodeRedemption::Redeemed(_)));
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let store = SqliteStore::in_memory().await.unwrap();
    let first = refresh([1; 32], "fam");
    store.put_refresh(&first).await.unwrap();
    store.put_refresh(&refresh([7; 32], "other")).await.unwrap();
    assert_eq!(store.refresh(&[1; 32]).await.unwrap(), Some(first.clone()));

    let second = RefreshRecord {
        issued_at: 1_500,
        expires_at: 2_500,
        ..refresh([2; 32], "fam")
    };
    assert_eq!(
        store
            .rotate_refresh(&[1; 32], &second, 1_500)
            .await
            .unwrap(),
        Redemption::Rotated(Box::new(first.clone()))
    );
    assert_eq!(store.refresh(&[2; 32]).await.unwrap(), Some(second.clone()));
    assert_eq!(
        store.refresh(&[1; 32]).await.unwrap(),
        Some(first),
        "used tokens stay visible"
    );

    // Replaying the used token revokes the whole family, successor included.
    let third = refresh([3; 32], "fam");
    assert_eq!(
        store.rotate_refresh(&[1; 32], &third, 1_600).await.unwrap(),
        Redemption::Reused {
            family_id: "fam".into()
        }
    );
    assert_eq!(
        store.refresh(&[3; 32]).await.unwrap(),
        None,
        "no successor stored on reuse"
    );
    assert_eq!(store.refresh(&[2; 32]).await.unwrap(), None);
    assert_eq!(
        store.rotate_refresh(&[2; 32], &third, 1_600).await.unwrap(),
        Redemption::Invalid
    );
    assert_eq!(
        store.rotate_refresh(&[1; 32], &third, 1_600).await.unwrap(),
        Redemption::Invalid
    );
    assert!(
        store.refresh(&[7; 32]).await.unwrap().is_some(),
        "other families untouched"
    );
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_invalid() {
    let store = SqliteStore::in_memory().await.unwrap();
    let successor = refresh([2; 32], "fam");
    assert_eq!(
        store
            .rotate_refresh(&[1; 32], &successor, 1_500)
            .await
            .unwrap(),
        Redemption::Invalid
    );
    store.put_refresh(&refresh([1; 32], "fam")).await.unwrap();
    assert_eq!(
        store
            .rotate_refresh(&[1; 32], &successor, 2_001)
            .await
            .unwrap(),
        Redemption::Invalid
    );
    assert_eq!(store.refresh(&[2; 32]).await.unwrap(), None);
    // Still current at exactly its expiry.
    assert!(matches!(
        store
            .rotate_refresh(&[1; 32], &successor, 2_000)
            .await
            .unwrap(),
        Redemption::Rotated(_)
    ));
}

#[tokio::test]
async fn revoke_family_invalidates_every_member() {
    let store = SqliteStore::in_memory().await.unwrap();
    store.put_refresh(&refresh([1; 32], "fam")).await.unwrap();
    store.put_refresh(&refresh([2; 32], "fam")).await.unwrap();
    store.put_refresh(&refresh([3; 32], "keep")).await.unwrap();
    store.revoke_family("fam").await.unwrap();
    assert_eq!(store.refresh(&[1; 32]).await.unwrap(), None);
    assert_eq!(
        store
            .rotate_refresh(&[2; 32], &refresh([4; 32], "fam"), 1_100)
            .await
            .unwrap(),
        Redemption::Invalid
    );
    assert!(store.refresh(&[3; 32]).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_double_rotation_is_one_rotation_and_one_reuse() {
    let db = TempDb::new();
    let store = Arc::new(SqliteStore::open(&db.0).await.unwrap());
    for round in 0..5u8 {
        let family = format!("fam{round}");
        store
            .put_refresh(&refresh([round; 32], &family))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..2u8)
            .map(|racer| {
                let store = Arc::clone(&store);
                let successor = refresh([100 + round * 2 + racer; 32], &family);
                tokio::spawn(async move {
                    store
                        .rotate_refresh(&[round; 32], &successor, 1_500)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let rotated = outcomes
            .iter()
            .filter(|o| matches!(o, Redemption::Rotated(_)))
            .count();
        let reused = outcomes
            .iter()
            .filter(|o| matches!(o, Redemption::Reused { family_id } if *family_id == family))
            .count();
        assert_eq!((rotated, reused), (1, 1), "round {round}: {outcomes:?}");
        // The strict policy: the winner's successor is revoked along with the family.
        for racer in 0..2u8 {
            assert_eq!(
                store.refresh(&[100 + round * 2 + racer; 32]).await.unwrap(),
                None
            );
        }
    }
}

#[tokio::test]
async fn sessions_round_trip() {
    let store = SqliteStore::in_memory().await.unwrap();
    let session = Session {
        id: "s1".into(),
        secret_digest: [7; 32],
        user_id: "u".into(),
        auth_time: 5,
        expires_at: 50,
    };
    store.put_session(&session).await.unwrap();
    assert_eq!(
        store.session(&[7; 32]).await.unwrap(),
        Some(session.clone()),
        "found by the digest of its cookie secret"
    );
    assert_eq!(store.session(&[8; 32]).await.unwrap(), None);
    let extended = Session {
        expires_at: 99,
        ..session
    };
    store.put_session(&extended).await.unwrap();
    assert_eq!(store.session(&[7; 32]).await.unwrap(), Some(extended));
    store.add_session_client("s1", "b").await.unwrap();
    store.add_session_client("s1", "a").await.unwrap();
    store.add_session_client("s1", "b").await.unwrap();
    assert_eq!(store.session_clients("s1").await.unwrap(), ["a", "b"]);
    store.delete_session("s1").await.unwrap();
    assert!(store.session_clients("s1").await.unwrap().is_empty());
    assert_eq!(store.session(&[7; 32]).await.unwrap(), None);
    store.delete_session("absent").await.unwrap();
}

#[tokio::test]
async fn pending_consents_are_answered_once() {
    let store = SqliteStore::in_memory().await.unwrap();
    let pending = PendingConsent {
        digest: [4; 32],
        session_id: "s".into(),
        client_id: "c".into(),
        resource_app_id: "api".into(),
        scopes: vec!["read".into(), "write".into()],
        request: "client_id=c".into(),
        expires_at: 100,
    };
    store.put_pending_consent(&pending).await.unwrap();
    assert_eq!(
        store.take_pending_consent(&[4; 32]).await.unwrap(),
        Some(pending)
    );
    assert_eq!(store.take_pending_consent(&[4; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn server_secrets_are_made_once() {
    let store = SqliteStore::in_memory().await.unwrap();
    assert_eq!(store.server_secret("k", b"first").await.unwrap(), b"first");
    assert_eq!(
        store.server_secret("k", b"second").await.unwrap(),
        b"first",
        "the first value stays"
    );
}

#[tokio::test]
async fn consent_accumulates_per_client_user_and_resource() {
    let store = SqliteStore::in_memory().await.unwrap();
    let scopes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    store
        .grant_consent("c", "u", "api", &scopes(&["write", "read"]))
        .await
        .unwrap();
    store
        .grant_consent("c", "u", "api", &scopes(&["read", "admin"]))
        .await
        .unwrap();
    store
        .grant_consent("c", "u", "graph", &scopes(&["User.Read"]))
        .await
        .unwrap();
    store.grant_consent("c", "u", "api", &[]).await.unwrap();
    assert_eq!(
        store.consented_scopes("c", "u", "api").await.unwrap(),
        scopes(&["admin", "read", "write"])
    );
    assert_eq!(
        store.consented_scopes("c", "u", "graph").await.unwrap(),
        scopes(&["User.Read"])
    );
    assert!(
        store
            .consented_scopes("c", "other", "api")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .consented_scopes("other", "u", "api")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn device_grants_by_user_code_and_single_use_approval() {
    let store = SqliteStore::in_memory().await.unwrap();
    let grant = device([1; 32], "ABCD-EFGH");
    store.put_device(&grant).await.unwrap();
    assert!(
        store
            .put_device(&device([2; 32], "abcd efgh"))
            .await
            .is_err(),
        "user codes are unique"
    );
    for typed in ["ABCD-EFGH", "abcdefgh", "abcd efgh", " AbCd-eFgH "] {
        assert_eq!(
            store.device_by_user_code(typed).await.unwrap(),
            Some(grant.clone()),
            "{typed:?}"
        );
    }
    assert_eq!(store.device_by_user_code("ABCD-EFGX").await.unwrap(), None);

    // Pending: polling returns it and keeps it.
    assert_eq!(
        store.poll_device(&[1; 32]).await.unwrap(),
        Some(grant.clone())
    );
    let approved = DeviceState::Approved {
        user_id: "u".into(),
        auth_time: 1_200,
    };
    assert!(store.decide_device("abcd-efgh", &approved).await.unwrap());
    assert!(
        !store
            .decide_device("ABCD-EFGH", &DeviceState::Declined)
            .await
            .unwrap(),
        "only pending grants change"
    );
    let expected = DeviceGrant {
        state: approved,
        ..grant
    };
    assert_eq!(
        store.device_by_user_code("ABCDEFGH").await.unwrap(),
        Some(expected.clone())
    );
    // Approved: returned once, then gone.
    assert_eq!(store.poll_device(&[1; 32]).await.unwrap(), Some(expected));
    assert_eq!(store.poll_device(&[1; 32]).await.unwrap(), None);
    assert!(
        !store
            .decide_device("ABCD-EFGH", &DeviceState::Declined)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn declined_device_grants_stay_declined() {
    let store = SqliteStore::in_memory().await.unwrap();
    store
        .put_device(&device([1; 32], "WXYZ-1234"))
        .await
        .unwrap();
    assert!(
        store
            .decide_device("wxyz1234", &DeviceState::Declined)
            .await
            .unwrap()
    );
    for _ in 0..2 {
        let polled = store.poll_device(&[1; 32]).await.unwrap().unwrap();
        assert_eq!(polled.state, DeviceState::Declined);
    }
    assert!(
        !store
            .decide_device("WXYZ-1234", &DeviceState::Pending)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn login_failures_count_within_the_window() {
    let store = SqliteStore::in_memory().await.unwrap();
    assert_eq!(
        store.record_login_failure("u", 1_000, 300).await.unwrap(),
        1
    );
    assert_eq!(
        store.record_login_failure("u", 1_100, 300).await.unwrap(),
        2
    );
    assert_eq!(
        store
            .record_login_failure("other", 1_100, 300)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.login_failures("u", 1_200, 300).await.unwrap(), 2);
    // 1_000 falls out of the window (at > now - window) at 1_300.
    assert_eq!(store.login_failures("u", 1_300, 300).await.unwrap(), 1);
    assert_eq!(
        store.record_login_failure("u", 1_300, 300).await.unwrap(),
        2
    );
    assert_eq!(store.login_failures("u", 2_000, 300).await.unwrap(), 0);
    store.clear_login_failures("u").await.unwrap();
    assert_eq!(store.login_failures("u", 1_300, 300).await.unwrap(), 0);
    assert_eq!(store.login_failures("other", 1_300, 300).await.unwrap(), 1);
}

#[tokio::test]
async fn signing_keys_are_listed_oldest_first_and_updated() {
    let store = SqliteStore::in_memory().await.unwrap();
    assert!(store.keys().await.unwrap().is_empty());
    let newer = key("b", 20);
    let older = key("a", 10);
    store.put_key(&newer).await.unwrap();
    store.put_key(&older).await.unwrap();
    assert_eq!(
        store.keys().await.unwrap(),
        vec![older.clone(), newer.clone()]
    );

    let retired = KeyRecord {
        active_from: 11,
        retired_at: Some(30),
        unpublish_at: Some(40),
        ..older
    };
    store.update_key(&retired).await.unwrap();
    assert_eq!(store.keys().await.unwrap(), vec![retired, newer]);
    assert!(store.update_key(&key("missing", 1)).await.is_err());
}

#[tokio::test]
async fn purge_removes_only_expired_rows() {
    let store = SqliteStore::in_memory().await.unwrap();
    store
        .put_code(&AuthCode {
            expires_at: 100,
            ..code([1; 32])
        })
        .await
        .unwrap();
    store
        .put_code(&AuthCode {
            expires_at: 300,
            ..code([2; 32])
        })
        .await
        .unwrap();
    store
        .put_refresh(&RefreshRecord {
            expires_at: 100,
            ..refresh([1; 32], "f")
        })
        .await
        .unwrap();
    store
        .put_refresh(&RefreshRecord {
            expires_at: 300,
            ..refresh([2; 32], "f")
        })
        .await
        .unwrap();
    store
        .put_session(&Session {
            id: "old".into(),
            secret_digest: [1; 32],
            user_id: "u".into(),
            auth_time: 1,
            expires_at: 100,
        })
        .await
        .unwrap();
    store
        .put_session(&Session {
            id: "new".into(),
            secret_digest: [2; 32],
            user_id: "u".into(),
            auth_time: 1,
            expires_at: 300,
        })
        .await
        .unwrap();
    store
        .put_device(&DeviceGrant {
            expires_at: 100,
            ..device([1; 32], "AAAA-AAAA")
        })
        .await
        .unwrap();
    store
        .put_device(&DeviceGrant {
            expires_at: 300,
            ..device([2; 32], "BBBB-BBBB")
        })
        .await
        .unwrap();
    store
        .record_login_failure("u", 200 - LOGIN_FAILURE_RETENTION - 1, i64::MAX / 2)
        .await
        .unwrap();
    store
        .record_login_failure("u", 150, i64::MAX / 2)
        .await
        .unwrap();

    store.purge_expired(200).await.unwrap();

    assert_eq!(
        store.take_code(&[1; 32], "f").await.unwrap(),
        CodeRedemption::Unknown
    );
    assert!(matches!(
        store.take_code(&[2; 32], "f").await.unwrap(),
        CodeRedemption::Redeemed(_)
    ));
    assert_eq!(store.refresh(&[1; 32]).await.unwrap(), None);
    assert!(store.refresh(&[2; 32]).await.unwrap().is_some());
    assert_eq!(store.session(&[1; 32]).await.unwrap(), None);
    assert!(store.session(&[2; 32]).await.unwrap().is_some());
    assert_eq!(store.device_by_user_code("AAAAAAAA").await.unwrap(), None);
    assert!(
        store
            .device_by_user_code("BBBBBBBB")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.login_failures("u", 200, i64::MAX / 2).await.unwrap(),
        1
    );
}

fn jti(client: &str, jti: &str, digest: u8, expires_at: i64) -> AssertionJti {
    AssertionJti {
        client_id: client.into(),
        jti: jti.into(),
        digest: [digest; 32],
        expires_at,
    }
}

#[tokio::test]
async fn a_jti_is_bound_to_the_first_assertion_until_it_expires() {
    let store = SqliteStore::in_memory().await.unwrap();
    let bind = |j: AssertionJti, now| {
        let store = store.clone();
        async move { store.bind_assertion_jti(&j, now, 100).await.unwrap() }
    };
    assert_eq!(bind(jti("c", "j1", 1, 1_000), 500).await, JtiUse::Bound);
    // The identical assertion again (MSAL's cached assertion): accepted.
    assert_eq!(bind(jti("c", "j1", 1, 1_000), 600).await, JtiUse::Repeated);
    // Another assertion with the same jti: refused, and the binding stays.
    assert_eq!(bind(jti("c", "j1", 2, 1_000), 600).await, JtiUse::Conflict);
    assert_eq!(bind(jti("c", "j1", 1, 1_000), 700).await, JtiUse::Repeated);
    // Other clients have their own jtis.
    assert_eq!(bind(jti("other", "j1", 2, 1_000), 600).await, JtiUse::Bound);
    // After expiry the jti is free again.
    assert_eq!(bind(jti("c", "j1", 3, 2_000), 1_001).await, JtiUse::Bound);
    assert_eq!(
        bind(jti("c", "j1", 1, 2_000), 1_002).await,
        JtiUse::Conflict
    );
    store.purge_expired(2_001).await.unwrap();
    assert_eq!(bind(jti("c", "j1", 1, 3_000), 2_001).await, JtiUse::Bound);
}

#[tokio::test]
async fn a_client_holds_a_bounded_number_of_jtis() {
    let store = SqliteStore::in_memory().await.unwrap();
    for i in 0..3 {
        let j = jti("c", &format!("j{i}"), 1, 1_000 + i);
        assert_eq!(
            store.bind_assertion_jti(&j, 500, 3).await.unwrap(),
            JtiUse::Bound
        );
    }
    let fourth = jti("c", "j3", 1, 2_000);
    assert_eq!(
        store.bind_assertion_jti(&fourth, 500, 3).await.unwrap(),
        JtiUse::Full
    );
    // A bound assertion still answers, and other clients are unaffected.
    let first = jti("c", "j0", 1, 1_000);
    assert_eq!(
        store.bind_assertion_jti(&first, 500, 3).await.unwrap(),
        JtiUse::Repeated
    );
    let other = jti("d", "j0", 1, 1_000);
    assert_eq!(
        store.bind_assertion_jti(&other, 500, 3).await.unwrap(),
        JtiUse::Bound
    );
    // Once some expire (not yet purged), their room is reused.
    assert_eq!(
        store.bind_assertion_jti(&fourth, 1_001, 3).await.unwrap(),
        JtiUse::Bound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_assertions_with_one_jti_bind_one() {
    let db = TempDb::new();
    let store = Arc::new(SqliteStore::open(&db.0).await.unwrap());
    for round in 0..5u8 {
        let tasks: Vec<_> = (0..16u8)
            .map(|digest| {
                let store = Arc::clone(&store);
                let j = jti("c", &format!("round-{round}"), digest, 1_000);
                tokio::spawn(async move { store.bind_assertion_jti(&j, 500, 100).await.unwrap() })
            })
            .collect();
        let mut bound = 0;
        for task in tasks {
            match task.await.unwrap() {
                JtiUse::Bound => bound += 1,
                JtiUse::Conflict => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(bound, 1, "round {round}");
    }
}

#[tokio::test]
async fn state_survives_reopening_the_file() {
    let db = TempDb::new();
    {
        let store = SqliteStore::open(&db.0).await.unwrap();
        store.put_code(&code([1; 32])).await.unwrap();
        store.put_refresh(&refresh([1; 32], "fam")).await.unwrap();
        store.put_key(&key("k", 1)).await.unwrap();
        store
            .grant_consent("c", "u", "api", &["read".to_owned()])
            .await
            .unwrap();
        store.pool.close().await;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&db.0).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the database holds private keys");
    }
    let store = SqliteStore::open(&db.0).await.unwrap();
    assert_eq!(
        store.take_code(&[1; 32], "f").await.unwrap(),
        CodeRedemption::Redeemed(Box::new(code([1; 32])))
    );
    assert_eq!(
        store.refresh(&[1; 32]).await.unwrap(),
        Some(refresh([1; 32], "fam"))
    );
    assert_eq!(store.keys().await.unwrap(), vec![key("k", 1)]);
    assert_eq!(
        store.consented_scopes("c", "u", "api").await.unwrap(),
        vec!["read".to_owned()]
    );
}

#[test]
fn user_codes_normalise() {
    assert_eq!(user_code_key("abcd-efgh"), "ABCDEFGH");
    assert_eq!(user_code_key(" Ab Cd\t-EF-gh "), "ABCDEFGH");
    assert_eq!(user_code_key(""), "");
}

#[test]
fn every_migration_file_is_embedded() {
    super::super::migrations::assert_every_file_is_embedded(MIGRATIONS, "sqlite");
}

#[tokio::test]
async fn service_principals_are_installed_once_per_tenant() {
    let store = SqliteStore::in_memory().await.unwrap();
    let (tenant, app) = (
        "3B7A9C1E-5D2F-4E6A-8B9C-0D1E2F3A4B5C",
        "a0000000-0000-4000-8000-00000000000a",
    );
    assert!(
        !store
            .service_principal_installed(tenant, app)
            .await
            .unwrap()
    );
    store
        .install_service_principal(tenant, app, 10)
        .await
        .unwrap();
    store
        .install_service_principal(tenant, app, 20)
        .await
        .unwrap();
    assert!(
        store
            .service_principal_installed(&tenant.to_lowercase(), app)
            .await
            .unwrap()
    );
    assert!(
        !store
            .service_principal_installed("7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b", app)
            .await
            .unwrap()
    );
}
