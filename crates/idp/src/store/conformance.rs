//! The conformance suite of the [`Store`] trait: every backend runs the
//! same cases, through `Arc<dyn Store>` as the provider uses it.
//!
//! A backend's test module implements [`Backend`] (a fresh, empty store and
//! a second handle on the same data, opened as another replica would open
//! it) and invokes [`suite!`] in a module of its own:
//!
//! ```ignore
//! mod conformance {
//!     crate::store::conformance::suite!(super::SqliteFile);
//! }
//! ```
//!
//! The concurrency cases spread their racers over both handles, so they
//! race as two replicas (two connection pools) would.

use std::future::Future;
use std::sync::Arc;

use super::{
    AssertionJti, AuthCode, CodeRedemption, DeviceGrant, DeviceState, Digest, JtiUse, KeyRecord,
    LOGIN_FAILURE_RETENTION, PendingConsent, Redemption, RefreshRecord, Session, Store,
};

/// A store implementation under test.
pub(crate) trait Backend: Sized + Send + 'static {
    /// A fresh, empty store, or `None` to skip the case (the backend has
    /// said why on standard error).
    fn create() -> impl Future<Output = Option<Self>> + Send;
    /// The store.
    fn store(&self) -> Arc<dyn Store>;
    /// Another handle on the same data, opened as another replica opens it.
    fn replica(&self) -> impl Future<Output = Arc<dyn Store>> + Send;
    /// Removes what [`create`](Self::create) made.
    fn remove(self) -> impl Future<Output = ()> + Send;
}

/// Runs `case` on a fresh store of `B`, then removes the store whether the
/// case passed or not.
pub(crate) async fn run<B, F, Fut>(case: F)
where
    B: Backend,
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(backend) = B::create().await else {
        return;
    };
    let outcome = tokio::spawn(case(backend.store())).await;
    finish(backend, outcome).await;
}

/// [`run`], with a second handle on the same data (a second replica).
pub(crate) async fn run_replicated<B, F, Fut>(case: F)
where
    B: Backend,
    F: FnOnce([Arc<dyn Store>; 2]) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(backend) = B::create().await else {
        return;
    };
    let replicas = [backend.store(), backend.replica().await];
    let outcome = tokio::spawn(case(replicas)).await;
    finish(backend, outcome).await;
}

async fn finish<B: Backend>(backend: B, outcome: Result<(), tokio::task::JoinError>) {
    backend.remove().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the case did not finish: {e}"),
        }
    }
}

/// Expands to one `#[tokio::test]` per case for the backend type given.
macro_rules! suite {
    ($backend:ty) => {
        $crate::store::conformance::suite!(@single $backend;
            a_client_holds_a_bounded_number_of_jtis,
            a_jti_is_bound_to_the_first_assertion_until_it_expires,
            codes_are_taken_once,
            consent_accumulates_per_client_user_and_resource,
            declined_device_grants_stay_declined,
            device_grants_by_user_code_and_single_use_approval,
            expired_codes_are_still_returned,
            login_failures_count_within_the_window,
            pending_consents_are_answered_once,
            purge_removes_only_expired_rows,
            refresh_tokens_rotate_and_reuse_revokes_the_family,
            revoke_family_invalidates_every_member,
            a_family_revoked_before_its_first_token_stays_revoked,
            server_secrets_are_made_once,
            service_principals_are_installed_once_per_tenant,
            sessions_round_trip,
            signing_keys_are_listed_oldest_first_and_updated,
            throttles_count_per_key_and_window,
            directory_documents_are_replaced_by_compare_and_swap,
            unknown_and_expired_refresh_tokens_are_invalid,
        );
        $crate::store::conformance::suite!(@replicated $backend;
            a_reuse_racing_a_rotation_revokes_the_whole_family,
            an_approved_device_grant_is_handed_out_once,
            concurrent_assertions_with_one_jti_bind_one,
            concurrent_bindings_respect_the_client_limit,
            concurrent_device_decisions_have_one_winner,
            concurrent_double_rotation_is_one_rotation_and_one_reuse,
            concurrent_login_failures_count_one_by_one,
            concurrent_redemptions_of_one_code_yield_one_winner,
            concurrent_server_secrets_agree,
            concurrent_throttle_events_count_one_by_one,
            concurrent_directory_writes_have_one_winner,
            key_changes_reach_the_other_replica,
            state_written_by_one_replica_is_read_by_the_other,
        );
    };
    (@single $backend:ty; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            $crate::store::conformance::run::<$backend, _, _>(
                $crate::store::conformance::$case,
            )
            .await;
        }
    )*};
    (@replicated $backend:ty; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            $crate::store::conformance::run_replicated::<$backend, _, _>(
                $crate::store::conformance::$case,
            )
            .await;
        }
    )*};
}

pub(crate) use suite;

pub(crate) fn code(digest: Digest) -> AuthCode {
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

pub(crate) fn refresh(digest: Digest, family: &str) -> RefreshRecord {
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

pub(crate) fn key(kid: &str, created_at: i64) -> KeyRecord {
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

fn jti(client: &str, jti: &str, digest: u8, expires_at: i64) -> AssertionJti {
    AssertionJti {
        client_id: client.into(),
        jti: jti.into(),
        digest: [digest; 32],
        expires_at,
    }
}

/// Runs `racers` tasks at once, the `i`-th on replica `i % 2`, and returns
/// their results in order.
async fn race<T, F, Fut>(replicas: &[Arc<dyn Store>; 2], racers: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, Arc<dyn Store>) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(racers));
    let tasks: Vec<_> = (0..racers)
        .map(|i| {
            let store = Arc::clone(&replicas[i % 2]);
            let run = task(i, store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(racers);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

pub(crate) async fn codes_are_taken_once(store: Arc<dyn Store>) {
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

pub(crate) async fn expired_codes_are_still_returned(store: Arc<dyn Store>) {
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

pub(crate) async fn concurrent_redemptions_of_one_code_yield_one_winner(
    replicas: [Arc<dyn Store>; 2],
) {
    for round in 0..5u8 {
        let digest = [round; 32];
        replicas[0].put_code(&code(digest)).await.unwrap();
        let outcomes = race(&replicas, 16, |i, store| async move {
            store.take_code(&digest, &format!("f{i}")).await.unwrap()
        })
        .await;
        let winners: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, CodeRedemption::Redeemed(_)))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let family = format!("f{}", winners[0]);
        for outcome in &outcomes {
            if !matches!(outcome, CodeRedemption::Redeemed(_)) {
                assert_eq!(
                    outcome,
                    &CodeRedemption::Replayed {
                        family_id: Some(family.clone())
                    },
                    "round {round}: the losers see the winner's family"
                );
            }
        }
    }
}

pub(crate) async fn refresh_tokens_rotate_and_reuse_revokes_the_family(store: Arc<dyn Store>) {
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

pub(crate) async fn unknown_and_expired_refresh_tokens_are_invalid(store: Arc<dyn Store>) {
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

/// A replayed code revokes the family its first redemption is creating,
/// possibly before that redemption stored the family's first token.
pub(crate) async fn a_family_revoked_before_its_first_token_stays_revoked(store: Arc<dyn Store>) {
    store.revoke_family("early").await.unwrap();
    store.put_refresh(&refresh([7; 32], "early")).await.unwrap();
    assert_eq!(store.refresh(&[7; 32]).await.unwrap(), None);
    assert_eq!(
        store
            .rotate_refresh(&[7; 32], &refresh([8; 32], "early"), 1_100)
            .await
            .unwrap(),
        Redemption::Invalid
    );
    // Other families are untouched.
    store.put_refresh(&refresh([9; 32], "later")).await.unwrap();
    assert!(store.refresh(&[9; 32]).await.unwrap().is_some());
}

pub(crate) async fn revoke_family_invalidates_every_member(store: Arc<dyn Store>) {
    store.put_refresh(&refresh([1; 32], "fam")).await.unwrap();
    store.put_refresh(&refresh([2; 32], "fam")).await.unwrap();
    store.put_refresh(&refresh([3; 32], "keep")).await.unwrap();
    store.revoke_family("fam").await.unwrap();
    store.revoke_family("absent").await.unwrap();
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

pub(crate) async fn concurrent_double_rotation_is_one_rotation_and_one_reuse(
    replicas: [Arc<dyn Store>; 2],
) {
    for round in 0..5u8 {
        let family = format!("fam{round}");
        replicas[0]
            .put_refresh(&refresh([round; 32], &family))
            .await
            .unwrap();
        let outcomes = race(&replicas, 2, |racer, store| {
            let successor = refresh([100 + round * 2 + racer as u8; 32], &family);
            async move {
                store
                    .rotate_refresh(&[round; 32], &successor, 1_500)
                    .await
                    .unwrap()
            }
        })
        .await;
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
            for store in &replicas {
                assert_eq!(
                    store.refresh(&[100 + round * 2 + racer; 32]).await.unwrap(),
                    None
                );
            }
        }
    }
}

/// A stolen, already-used token comes back while the legitimate client
/// rotates its current one: whichever runs first, the family ends revoked,
/// including the successor the legitimate rotation stored.
pub(crate) async fn a_reuse_racing_a_rotation_revokes_the_whole_family(
    replicas: [Arc<dyn Store>; 2],
) {
    for round in 0..8u8 {
        let family = format!("race{round}");
        let [used, current, next, stolen_successor] =
            [0u8, 1, 2, 3].map(|i| [round.wrapping_mul(4).wrapping_add(i); 32]);
        replicas[0]
            .put_refresh(&refresh(used, &family))
            .await
            .unwrap();
        assert!(matches!(
            replicas[0]
                .rotate_refresh(&used, &refresh(current, &family), 1_100)
                .await
                .unwrap(),
            Redemption::Rotated(_)
        ));
        let outcomes = race(&replicas, 2, |racer, store| {
            let (presented, successor) = if racer == 0 {
                (current, refresh(next, &family))
            } else {
                (used, refresh(stolen_successor, &family))
            };
            async move {
                store
                    .rotate_refresh(&presented, &successor, 1_200)
                    .await
                    .unwrap()
            }
        })
        .await;
        assert!(
            matches!(&outcomes[1], Redemption::Reused { family_id } if *family_id == family),
            "round {round}: {outcomes:?}"
        );
        for digest in [used, current, next, stolen_successor] {
            for store in &replicas {
                assert_eq!(
                    store.refresh(&digest).await.unwrap(),
                    None,
                    "round {round}: every token of the family is revoked ({outcomes:?})"
                );
            }
        }
    }
}

pub(crate) async fn sessions_round_trip(store: Arc<dyn Store>) {
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
    store.add_session_client("s1", "B").await.unwrap();
    assert_eq!(
        store.session_clients("s1").await.unwrap(),
        ["B", "a", "b"],
        "sorted by code point"
    );
    store.delete_session("s1").await.unwrap();
    assert!(store.session_clients("s1").await.unwrap().is_empty());
    assert_eq!(store.session(&[7; 32]).await.unwrap(), None);
    store.delete_session("absent").await.unwrap();
}

pub(crate) async fn pending_consents_are_answered_once(store: Arc<dyn Store>) {
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

pub(crate) async fn server_secrets_are_made_once(store: Arc<dyn Store>) {
    assert_eq!(store.server_secret("k", b"first").await.unwrap(), b"first");
    assert_eq!(
        store.server_secret("k", b"second").await.unwrap(),
        b"first",
        "the first value stays"
    );
}

pub(crate) async fn concurrent_server_secrets_agree(replicas: [Arc<dyn Store>; 2]) {
    for round in 0..5u8 {
        let name = format!("key{round}");
        let values = race(&replicas, 8, |i, store| {
            let name = name.clone();
            async move { store.server_secret(&name, &[i as u8; 4]).await.unwrap() }
        })
        .await;
        assert!(
            values.iter().all(|v| *v == values[0]),
            "round {round}: every replica gets the first value stored: {values:?}"
        );
    }
}

pub(crate) async fn consent_accumulates_per_client_user_and_resource(store: Arc<dyn Store>) {
    let scopes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    store
        .grant_consent("c", "u", "api", &scopes(&["write", "read"]))
        .await
        .unwrap();
    store
        .grant_consent("c", "u", "api", &scopes(&["read", "admin", "Zeta"]))
        .await
        .unwrap();
    store
        .grant_consent("c", "u", "graph", &scopes(&["User.Read"]))
        .await
        .unwrap();
    store.grant_consent("c", "u", "api", &[]).await.unwrap();
    assert_eq!(
        store.consented_scopes("c", "u", "api").await.unwrap(),
        scopes(&["Zeta", "admin", "read", "write"]),
        "sorted by code point, without duplicates"
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

pub(crate) async fn device_grants_by_user_code_and_single_use_approval(store: Arc<dyn Store>) {
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

pub(crate) async fn declined_device_grants_stay_declined(store: Arc<dyn Store>) {
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

/// The approval races the polls: one poll, here or after, gets it.
pub(crate) async fn an_approved_device_grant_is_handed_out_once(replicas: [Arc<dyn Store>; 2]) {
    for round in 0..5u8 {
        let user_code = format!("ROUND-000{round}");
        replicas[0]
            .put_device(&device([round; 32], &user_code))
            .await
            .unwrap();
        let outcomes = race(&replicas, 12, |i, store| {
            let user_code = user_code.clone();
            async move {
                if i == 0 {
                    let approved = DeviceState::Approved {
                        user_id: "u".into(),
                        auth_time: 1_200,
                    };
                    assert!(store.decide_device(&user_code, &approved).await.unwrap());
                    None
                } else {
                    store.poll_device(&[round; 32]).await.unwrap()
                }
            }
        })
        .await;
        let last = replicas[1].poll_device(&[round; 32]).await.unwrap();
        let approvals = outcomes
            .iter()
            .chain(std::iter::once(&last))
            .flatten()
            .filter(|grant| matches!(grant.state, DeviceState::Approved { .. }))
            .count();
        assert_eq!(approvals, 1, "round {round}: {outcomes:?} then {last:?}");
        assert_eq!(replicas[0].poll_device(&[round; 32]).await.unwrap(), None);
    }
}

pub(crate) async fn concurrent_device_decisions_have_one_winner(replicas: [Arc<dyn Store>; 2]) {
    for round in 0..5u8 {
        let user_code = format!("DCDE-000{round}");
        replicas[0]
            .put_device(&device([round; 32], &user_code))
            .await
            .unwrap();
        let outcomes = race(&replicas, 8, |i, store| {
            let user_code = user_code.clone();
            async move {
                let state = if i % 2 == 0 {
                    DeviceState::Declined
                } else {
                    DeviceState::Approved {
                        user_id: format!("u{i}"),
                        auth_time: 1_200,
                    }
                };
                (
                    store.decide_device(&user_code, &state).await.unwrap(),
                    state,
                )
            }
        })
        .await;
        let winners: Vec<&DeviceState> = outcomes
            .iter()
            .filter(|(won, _)| *won)
            .map(|(_, state)| state)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let stored = replicas[1]
            .device_by_user_code(&user_code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored.state, winners[0], "round {round}");
    }
}

pub(crate) async fn login_failures_count_within_the_window(store: Arc<dyn Store>) {
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

/// Every failure counts, and each caller sees its own place in the count:
/// a lockout threshold cannot be slipped past by failing concurrently.
pub(crate) async fn concurrent_login_failures_count_one_by_one(replicas: [Arc<dyn Store>; 2]) {
    let mut counts = race(&replicas, 16, |_, store| async move {
        store.record_login_failure("u", 1_000, 300).await.unwrap()
    })
    .await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=16).collect::<Vec<u32>>());
    assert_eq!(
        replicas[1].login_failures("u", 1_000, 300).await.unwrap(),
        16
    );
}

pub(crate) async fn directory_documents_are_replaced_by_compare_and_swap(store: Arc<dyn Store>) {
    assert_eq!(store.directory_document("t").await.unwrap(), None);
    assert_eq!(
        store
            .put_directory_document("t", None, "{1}", 10)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .put_directory_document("t", None, "{x}", 11)
            .await
            .unwrap(),
        None,
        "a second first write loses"
    );
    assert_eq!(
        store
            .put_directory_document("t", Some(2), "{x}", 11)
            .await
            .unwrap(),
        None,
        "a stale version loses"
    );
    assert_eq!(
        store
            .put_directory_document("t", Some(1), "{2}", 12)
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        store.directory_document("t").await.unwrap(),
        Some((2, "{2}".to_owned()))
    );
    assert_eq!(store.directory_document("u").await.unwrap(), None);
}

pub(crate) async fn concurrent_directory_writes_have_one_winner(replicas: [Arc<dyn Store>; 2]) {
    replicas[0]
        .put_directory_document("t", None, "{0}", 1)
        .await
        .unwrap();
    let won = race(&replicas, 8, |i, store| async move {
        store
            .put_directory_document("t", Some(1), &format!("{{{i}}}"), 2)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(won.iter().filter(|w| w.is_some()).count(), 1, "{won:?}");
    assert_eq!(
        replicas[1]
            .directory_document("t")
            .await
            .unwrap()
            .unwrap()
            .0,
        2
    );
}

pub(crate) async fn throttles_count_per_key_and_window(store: Arc<dyn Store>) {
    assert_eq!(store.throttle_events("k", 1_000, 60).await.unwrap(), 0);
    assert_eq!(store.count_throttle_event("k", 1_000, 60).await.unwrap(), 1);
    assert_eq!(store.count_throttle_event("k", 1_019, 60).await.unwrap(), 2);
    assert_eq!(store.count_throttle_event("j", 1_019, 60).await.unwrap(), 1);
    assert_eq!(store.throttle_events("k", 1_019, 60).await.unwrap(), 2);
    assert_eq!(store.count_throttle_event("k", 1_059, 60).await.unwrap(), 3);
    // The window started at the first event: 1,060 starts a new one.
    assert_eq!(store.throttle_events("k", 1_060, 60).await.unwrap(), 0);
    assert_eq!(store.count_throttle_event("k", 1_060, 60).await.unwrap(), 1);
    assert_eq!(store.count_throttle_event("k", 1_119, 60).await.unwrap(), 2);
    // Purging drops ended windows only.
    store.purge_expired(1_119).await.unwrap();
    assert_eq!(store.throttle_events("k", 1_119, 60).await.unwrap(), 2);
    // j's window ended at 1,079: its row is gone (asked about a time
    // inside the window, it would still count).
    assert_eq!(store.throttle_events("j", 1_078, 60).await.unwrap(), 0);
    store.purge_expired(1_121).await.unwrap();
    assert_eq!(store.throttle_events("k", 1_110, 60).await.unwrap(), 0);
}

pub(crate) async fn concurrent_throttle_events_count_one_by_one(replicas: [Arc<dyn Store>; 2]) {
    let mut counts = race(&replicas, 16, |_, store| async move {
        store.count_throttle_event("t", 1_000, 60).await.unwrap()
    })
    .await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=16).collect::<Vec<u32>>());
    assert_eq!(
        replicas[1].throttle_events("t", 1_010, 60).await.unwrap(),
        16
    );
}

/// A store that announces key changes delivers them to every listener; a
/// store without a channel says so (its processes poll).
pub(crate) async fn key_changes_reach_the_other_replica(replicas: [Arc<dyn Store>; 2]) {
    let Some(mut changes) = replicas[1].key_changes().await.unwrap() else {
        replicas[0].announce_key_change().await.unwrap();
        return;
    };
    replicas[0].announce_key_change().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), changes.recv())
        .await
        .expect("the announcement arrives within seconds")
        .expect("the channel stays open");
}

pub(crate) async fn signing_keys_are_listed_oldest_first_and_updated(store: Arc<dyn Store>) {
    assert!(store.keys().await.unwrap().is_empty());
    let newer = key("b", 20);
    let older = key("a", 10);
    let same_second = key("0", 20);
    store.put_key(&newer).await.unwrap();
    store.put_key(&older).await.unwrap();
    store.put_key(&same_second).await.unwrap();
    assert_eq!(
        store.keys().await.unwrap(),
        vec![older.clone(), newer.clone(), same_second.clone()],
        "by creation time, then in the order stored"
    );
    assert!(
        store.put_key(&key("a", 30)).await.is_err(),
        "kids are unique"
    );

    let retired = KeyRecord {
        active_from: 11,
        retired_at: Some(30),
        unpublish_at: Some(40),
        ..older
    };
    store.update_key(&retired).await.unwrap();
    assert_eq!(
        store.keys().await.unwrap(),
        vec![retired, newer, same_second]
    );
    assert!(store.update_key(&key("missing", 1)).await.is_err());
}

pub(crate) async fn purge_removes_only_expired_rows(store: Arc<dyn Store>) {
    for (digest, expires_at) in [(1, 100), (2, 300)] {
        store
            .put_code(&AuthCode {
                expires_at,
                ..code([digest; 32])
            })
            .await
            .unwrap();
        store
            .put_refresh(&RefreshRecord {
                expires_at,
                ..refresh([digest; 32], "f")
            })
            .await
            .unwrap();
        store
            .put_refresh(&RefreshRecord {
                expires_at,
                ..refresh([digest + 10; 32], &format!("alone{digest}"))
            })
            .await
            .unwrap();
        store
            .put_session(&Session {
                id: format!("s{digest}"),
                secret_digest: [digest; 32],
                user_id: "u".into(),
                auth_time: 1,
                expires_at,
            })
            .await
            .unwrap();
        store
            .add_session_client(&format!("s{digest}"), "c")
            .await
            .unwrap();
        store
            .put_device(&DeviceGrant {
                expires_at,
                ..device([digest; 32], &format!("AAAA-AAA{digest}"))
            })
            .await
            .unwrap();
        store
            .put_pending_consent(&PendingConsent {
                digest: [digest; 32],
                session_id: "s".into(),
                client_id: "c".into(),
                resource_app_id: "api".into(),
                scopes: vec!["read".into()],
                request: String::new(),
                expires_at,
            })
            .await
            .unwrap();
    }
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
    assert_eq!(store.refresh(&[11; 32]).await.unwrap(), None);
    assert!(store.refresh(&[12; 32]).await.unwrap().is_some());
    assert_eq!(store.session(&[1; 32]).await.unwrap(), None);
    assert!(store.session(&[2; 32]).await.unwrap().is_some());
    assert!(store.session_clients("s1").await.unwrap().is_empty());
    assert_eq!(store.session_clients("s2").await.unwrap(), ["c"]);
    assert_eq!(store.device_by_user_code("AAAAAAA1").await.unwrap(), None);
    assert!(
        store
            .device_by_user_code("AAAAAAA2")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.take_pending_consent(&[1; 32]).await.unwrap(), None);
    assert!(
        store
            .take_pending_consent(&[2; 32])
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.login_failures("u", 200, i64::MAX / 2).await.unwrap(),
        1
    );
    // A purged family's token id can start a family afresh.
    store
        .put_refresh(&refresh([11; 32], "alone1"))
        .await
        .unwrap();
    assert!(store.refresh(&[11; 32]).await.unwrap().is_some());
}

pub(crate) async fn a_jti_is_bound_to_the_first_assertion_until_it_expires(store: Arc<dyn Store>) {
    let bind = |j: AssertionJti, now| {
        let store = Arc::clone(&store);
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

pub(crate) async fn a_client_holds_a_bounded_number_of_jtis(store: Arc<dyn Store>) {
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

pub(crate) async fn concurrent_assertions_with_one_jti_bind_one(replicas: [Arc<dyn Store>; 2]) {
    for round in 0..5u8 {
        let outcomes = race(&replicas, 16, |digest, store| {
            let j = jti("c", &format!("round-{round}"), digest as u8, 1_000);
            async move { store.bind_assertion_jti(&j, 500, 100).await.unwrap() }
        })
        .await;
        let bound = outcomes.iter().filter(|o| **o == JtiUse::Bound).count();
        let conflicts = outcomes.iter().filter(|o| **o == JtiUse::Conflict).count();
        assert_eq!((bound, conflicts), (1, 15), "round {round}: {outcomes:?}");
    }
}

pub(crate) async fn concurrent_bindings_respect_the_client_limit(replicas: [Arc<dyn Store>; 2]) {
    let outcomes = race(&replicas, 16, |i, store| {
        let j = jti("c", &format!("j{i}"), 1, 1_000);
        async move { store.bind_assertion_jti(&j, 500, 5).await.unwrap() }
    })
    .await;
    let bound = outcomes.iter().filter(|o| **o == JtiUse::Bound).count();
    let full = outcomes.iter().filter(|o| **o == JtiUse::Full).count();
    assert_eq!((bound, full), (5, 11), "{outcomes:?}");
}

pub(crate) async fn service_principals_are_installed_once_per_tenant(store: Arc<dyn Store>) {
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

/// What one replica writes, the other reads: every step of a flow can land
/// on either.
pub(crate) async fn state_written_by_one_replica_is_read_by_the_other(
    replicas: [Arc<dyn Store>; 2],
) {
    let [one, two] = replicas;
    one.put_code(&code([1; 32])).await.unwrap();
    assert_eq!(
        two.take_code(&[1; 32], "f").await.unwrap(),
        CodeRedemption::Redeemed(Box::new(code([1; 32])))
    );
    one.put_refresh(&refresh([1; 32], "fam")).await.unwrap();
    assert!(matches!(
        two.rotate_refresh(&[1; 32], &refresh([2; 32], "fam"), 1_500)
            .await
            .unwrap(),
        Redemption::Rotated(_)
    ));
    assert!(one.refresh(&[2; 32]).await.unwrap().is_some());
    one.put_key(&key("k", 1)).await.unwrap();
    assert_eq!(two.keys().await.unwrap(), vec![key("k", 1)]);
    one.grant_consent("c", "u", "api", &["read".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        two.consented_scopes("c", "u", "api").await.unwrap(),
        vec!["read".to_owned()]
    );
    one.install_service_principal("t", "a", 1).await.unwrap();
    assert!(two.service_principal_installed("t", "a").await.unwrap());
}
