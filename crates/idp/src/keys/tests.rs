use rolegate_token::algorithm::{Algorithm, AlgorithmPolicy};
use rolegate_token::jwk::JwkSet;

use super::*;
use crate::store::sqlite::SqliteStore;

const T0: i64 = 1_750_000_000;

async fn fresh(now: i64) -> (Arc<dyn Store>, SigningKeys) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let keys = SigningKeys::load_or_create(Arc::clone(&store), now)
        .await
        .unwrap();
    (store, keys)
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn header(token: &str) -> Value {
    let encoded = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
}

/// Verifies `token` against `jwks` the way a resource server would: pick
/// the key by `kid`, check RS256. Returns the kid.
fn verify(jwks: &Value, token: &str) -> String {
    let set = JwkSet::parse(jwks.to_string().as_bytes(), &AlgorithmPolicy::entra()).unwrap();
    let kid = header(token)["kid"].as_str().unwrap().to_owned();
    let key = set
        .keys()
        .iter()
        .find(|k| k.kid() == Some(kid.as_str()))
        .expect("kid published");
    let (signed, signature) = token.rsplit_once('.').unwrap();
    key.verify(
        Algorithm::Rs256,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .expect("signature verifies");
    kid
}

#[tokio::test]
async fn first_start_creates_a_current_and_a_next_key() {
    let (store, keys) = fresh(T0).await;
    let records = store.keys().await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].active_from, T0);
    assert_eq!(records[1].active_from, T0 + NEXT_KEY_DELAY);
    assert_eq!(
        keys.current_kid(T0).as_deref(),
        Some(records[0].kid.as_str())
    );
    assert_eq!(
        kids(&keys.jwks(None, T0)),
        vec![records[0].kid.clone(), records[1].kid.clone()]
    );
    assert_eq!(keys.current_kid(T0 - 1), None);
}

#[tokio::test]
async fn tokens_verify_against_the_published_keys() {
    let (_store, keys) = fresh(T0).await;
    let claims = json!({ "aud": "api://orders", "iss": "https://localhost/t/v2.0", "ver": "2.0" });

    let v2 = keys.sign(&claims, false, T0).unwrap();
    assert_eq!(
        header(&v2),
        json!({ "typ": "JWT", "alg": "RS256", "kid": keys.current_kid(T0).unwrap() })
    );
    let jwks = keys.jwks(None, T0);
    assert_eq!(verify(&jwks, &v2), keys.current_kid(T0).unwrap());
    let payload = v2.split('.').nth(1).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap(),
        claims
    );

    let v1 = keys.sign(&claims, true, T0).unwrap();
    let kid = keys.current_kid(T0).unwrap();
    assert_eq!(
        header(&v1),
        json!({ "typ": "JWT", "alg": "RS256", "kid": kid, "x5t": kid })
    );
    verify(&jwks, &v1);

    assert!(
        matches!(keys.sign(&claims, false, T0 - 1), Err(KeyError::NoActiveKey { now }) if now == T0 - 1)
    );
}

#[tokio::test]
async fn jwks_entries_look_like_entra_keys() {
    let (_store, keys) = fresh(T0).await;
    let plain = keys.jwks(None, T0);
    let with_issuer = keys.jwks(Some("https://localhost:8443/{tenantid}/v2.0"), T0);
    for (plain, tenant) in plain["keys"]
        .as_array()
        .unwrap()
        .iter()
        .zip(with_issuer["keys"].as_array().unwrap())
    {
        assert_eq!(plain["kty"], "RSA");
        assert_eq!(plain["use"], "sig");
        assert_eq!(plain["e"], "AQAB");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(plain["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256,
            "2048-bit modulus"
        );
        assert!(plain.get("issuer").is_none() && plain.get("cloud_instance_name").is_none());

        let certificate = STANDARD.decode(plain["x5c"][0].as_str().unwrap()).unwrap();
        let thumbprint =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &certificate);
        let expected = URL_SAFE_NO_PAD.encode(thumbprint.as_ref());
        assert_eq!(plain["kid"], expected.as_str());
        assert_eq!(plain["x5t"], expected.as_str());
        assert!(der::certificate_not_after(&certificate).unwrap() > T0 + 4 * 365 * DAY);

        assert_eq!(tenant["issuer"], "https://localhost:8443/{tenantid}/v2.0");
        assert_eq!(tenant["cloud_instance_name"], "microsoftonline.com");
    }
}

#[tokio::test]
async fn keys_survive_a_reload() {
    let (store, keys) = fresh(T0).await;
    let token = keys.sign(&json!({ "sub": "x" }), false, T0 + 5).unwrap();
    let before = kids(&keys.jwks(None, T0 + 5));
    drop(keys);

    let reloaded = SigningKeys::load_or_create(Arc::clone(&store), T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        store.keys().await.unwrap().len(),
        2,
        "nothing new generated"
    );
    assert_eq!(kids(&reloaded.jwks(None, T0 + 10)), before);
    verify(&reloaded.jwks(None, T0 + 10), &token);
    let again = reloaded
        .sign(&json!({ "sub": "x" }), false, T0 + 10)
        .unwrap();
    assert_eq!(header(&again)["kid"], header(&token)["kid"]);
}

#[tokio::test]
async fn rotation_publishes_before_signing_and_unpublishes_after_expiry() {
    let (store, keys) = fresh(T0).await;
    let old = keys.current_kid(T0).unwrap();
    let next = kids(&keys.jwks(None, T0))[1].clone();
    let old_token = keys.sign(&json!({ "n": 1 }), false, T0 + 50).unwrap();

    let report = keys.rotate(T0 + 100, 3_600, 86_400).await.unwrap();
    let switch = T0 + 3_700;
    assert_eq!(report.retired_kid, old);
    assert_eq!(report.promoted_kid, next);
    assert_eq!(
        (report.switch_at, report.unpublish_at),
        (switch, switch + 86_400)
    );
    let newest = report.next_kid.clone();

    // Until the switch: the old key signs; all three are published.
    assert_eq!(keys.current_kid(switch - 1).as_deref(), Some(old.as_str()));
    let jwks = keys.jwks(None, switch - 1);
    assert_eq!(kids(&jwks)[0], old);
    assert_eq!(kids(&jwks).len(), 3);
    assert!(kids(&jwks).contains(&next) && kids(&jwks).contains(&newest));

    // From the switch: the promoted key signs; the old one stays published.
    let token = keys.sign(&json!({ "n": 2 }), false, switch).unwrap();
    let jwks = keys.jwks(None, switch);
    assert_eq!(verify(&jwks, &token), next);
    assert_eq!(kids(&jwks)[0], next);
    assert_eq!(verify(&jwks, &old_token), old);

    // Once the old key's last token has expired, it is gone.
    let jwks = keys.jwks(None, switch + 86_400);
    assert_eq!(kids(&jwks), vec![next.clone(), newest.clone()]);

    // The schedule is stored, not just cached.
    let reloaded = SigningKeys::load_or_create(store, switch + 86_400)
        .await
        .unwrap();
    assert_eq!(
        kids(&reloaded.jwks(None, switch + 86_400)),
        vec![next, newest]
    );
}

#[tokio::test]
async fn an_immediate_rotation_switches_at_once_when_the_next_key_is_old_enough() {
    let (_store, keys) = fresh(T0).await;
    let now = T0 + PUBLICATION_BEFORE_SIGNING + 10;
    let report = keys.rotate(now, 0, 600).await.unwrap();
    assert_eq!(report.switch_at, now);
    assert_eq!(keys.current_kid(now), Some(report.promoted_kid.clone()));
    assert_eq!(keys.current_kid(now - 1), Some(report.retired_kid.clone()));
    assert_eq!(
        kids(&keys.jwks(None, now + 600)),
        vec![report.promoted_kid, report.next_kid]
    );
}

#[tokio::test]
async fn an_immediate_rotation_waits_until_the_next_key_was_published_long_enough() {
    let (_store, keys) = fresh(T0).await;
    let report = keys.rotate(T0 + 10, 0, 600).await.unwrap();
    assert_eq!(report.switch_at, T0 + PUBLICATION_BEFORE_SIGNING);
    assert_eq!(
        keys.current_kid(report.switch_at - 1),
        Some(report.retired_kid.clone())
    );
    assert_eq!(
        keys.current_kid(report.switch_at),
        Some(report.promoted_kid.clone())
    );
}

#[tokio::test]
async fn a_second_rotation_right_after_the_first_delays_its_switch() {
    let (_store, keys) = fresh(T0).await;
    let t1 = T0 + 3_600;
    let first = keys.rotate(t1, 0, 86_400).await.unwrap();
    assert_eq!(
        first.switch_at, t1,
        "the next key was published an hour ago"
    );
    let old_token = keys.sign(&json!({ "n": 1 }), false, t1 - 1).unwrap();

    let second = keys.rotate(t1 + 5, 0, 86_400).await.unwrap();
    assert_eq!(second.retired_kid, first.promoted_kid);
    assert_eq!(
        second.promoted_kid, first.next_kid,
        "promotes the key the first rotation made"
    );
    assert_eq!(
        second.switch_at,
        t1 + PUBLICATION_BEFORE_SIGNING,
        "not at once: the promoted key was made at {t1}"
    );
    assert_eq!(
        keys.current_kid(second.switch_at - 1),
        Some(first.promoted_kid.clone())
    );
    assert_eq!(
        keys.current_kid(second.switch_at),
        Some(second.promoted_kid.clone())
    );
    // The promoted key is in the JWKS from its creation on.
    assert!(kids(&keys.jwks(None, t1)).contains(&second.promoted_kid));

    // Each retired key stays published until its last token has expired.
    let at = |time| kids(&keys.jwks(None, time));
    assert!(at(t1 + 86_399).contains(&first.retired_kid));
    verify(&keys.jwks(None, t1 + 86_399), &old_token);
    assert!(!at(t1 + 86_400).contains(&first.retired_kid));
    assert!(at(second.switch_at + 86_399).contains(&second.retired_kid));
    assert!(!at(second.switch_at + 86_400).contains(&second.retired_kid));
}

#[tokio::test]
async fn a_rotation_before_the_first_switch_builds_on_it() {
    let (_store, keys) = fresh(T0).await;
    let t1 = T0 + 3_600;
    let lead = VALIDATOR_REFETCH_WINDOW;
    let first = keys.rotate(t1, lead, 86_400).await.unwrap();
    assert_eq!(first.switch_at, t1 + lead);

    let second = keys.rotate(t1 + 5, lead, 86_400).await.unwrap();
    assert_eq!(
        (second.retired_kid.as_str(), second.promoted_kid.as_str()),
        (first.promoted_kid.as_str(), first.next_kid.as_str())
    );
    assert_eq!(second.switch_at, t1 + PUBLICATION_BEFORE_SIGNING);
    let signer = |time| keys.current_kid(time).unwrap();
    assert_eq!(signer(first.switch_at - 1), first.retired_kid);
    assert_eq!(signer(first.switch_at), first.promoted_kid);
    assert_eq!(signer(second.switch_at), second.promoted_kid);
}

#[tokio::test]
async fn no_key_ever_signs_before_it_was_published_long_enough() {
    let (store, keys) = fresh(T0).await;
    let mut now = T0;
    // Rotations at irregular intervals and leads, some back to back.
    for (gap, lead) in [
        (1, 0),
        (2, 0),
        (400, 0),
        (3, 30),
        (1, 300),
        (900, 0),
        (10, 0),
    ] {
        now += gap;
        let report = keys.rotate(now, lead, 3_600).await.unwrap();
        assert!(report.switch_at >= now + lead);
    }
    let records = store.keys().await.unwrap();
    for key in &records {
        let signs = key
            .retired_at
            .is_none_or(|retired| retired > key.active_from);
        if key.active_from > T0 && signs {
            assert!(
                key.active_from - key.created_at >= PUBLICATION_BEFORE_SIGNING,
                "{key:?}"
            );
        }
        if let Some(retired) = key.retired_at {
            assert!(key.unpublish_at.unwrap() >= retired + 3_600, "{key:?}");
        }
    }
    // At every second some key signs, and it is published.
    for time in (T0..now + 2 * PUBLICATION_BEFORE_SIGNING).step_by(7) {
        let kid = keys.current_kid(time).unwrap();
        assert!(kids(&keys.jwks(None, time)).contains(&kid), "at {time}");
    }
}

#[test]
fn a_publish_lead_shorter_than_the_refetch_window_is_refused() {
    // `rolegate idp rotate-keys --help` names these numbers.
    assert_eq!(VALIDATOR_REFETCH_WINDOW, 300);
    assert_eq!(PUBLICATION_BEFORE_SIGNING, 330);
    assert_eq!(
        UNKNOWN_KID_THROTTLE.as_secs(),
        u64::try_from(VALIDATOR_REFETCH_WINDOW).unwrap()
    );
    for lead in [-1, 0, VALIDATOR_REFETCH_WINDOW - 1] {
        let error = check_publish_lead(lead).unwrap_err();
        assert!(
            matches!(error, KeyError::PublishLeadTooShort { lead: l, window: 300 } if l == lead),
            "{error}"
        );
    }
    assert_eq!(
        check_publish_lead(0).unwrap_err().to_string(),
        "publish lead 0s is shorter than the validators' unknown-kid refetch window (300s)"
    );
    check_publish_lead(VALIDATOR_REFETCH_WINDOW).unwrap();
    check_publish_lead(3_600).unwrap();
}

#[tokio::test]
async fn a_next_key_that_came_due_supersedes_the_old_one_on_load() {
    let (store, keys) = fresh(T0).await;
    let [old, next] = <[String; 2]>::try_from(kids(&keys.jwks(None, T0))).unwrap();
    drop(keys);
    let later = T0 + NEXT_KEY_DELAY + 10;
    let keys = SigningKeys::load_or_create(Arc::clone(&store), later)
        .await
        .unwrap();
    assert_eq!(keys.current_kid(later), Some(next.clone()));
    let published = kids(&keys.jwks(None, later));
    assert_eq!(
        published.len(),
        3,
        "old (for a day), current, new next: {published:?}"
    );
    assert_eq!(published[0], next);
    assert!(published.contains(&old));
    assert!(!kids(&keys.jwks(None, T0 + NEXT_KEY_DELAY + SUPERSEDED_KEY_GRACE)).contains(&old));
}

#[tokio::test]
async fn corrupt_stored_keys_are_reported() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    store
        .put_key(&KeyRecord {
            kid: "bad".into(),
            pkcs8: vec![0x30, 0x00],
            certificate: vec![],
            created_at: T0,
            active_from: T0,
            retired_at: None,
            unpublish_at: None,
        })
        .await
        .unwrap();
    let error = SigningKeys::load_or_create(store, T0).await.unwrap_err();
    assert!(
        matches!(&error, KeyError::InvalidKey { kid, .. } if kid == "bad"),
        "{error}"
    );
}
