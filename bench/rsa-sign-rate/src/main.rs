//! Single-thread RS256 signing rate with aws-lc-rs, the library `rolegate idp`
//! signs tokens with: the ceiling a one-core token endpoint is judged against.
//!
//! Usage: `rsa-sign-rate [SECONDS]` (default 5). Prints one line:
//! `aws-lc-rs rsa2048 RS256 sign/s: <rate> (<n> signs in <s> s)`.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0 && *s <= 120.0)
        .unwrap_or(5.0);
    let pair = match KeyPair::generate(KeySize::Rsa2048) {
        Ok(p) => p,
        Err(_) => {
            eprintln!("cannot generate an RSA-2048 key");
            std::process::exit(1);
        }
    };
    let rng = SystemRandom::new();
    // About the size of a JWS signing input for an app-only access token.
    let message = vec![b'e'; 900];
    let mut signature = vec![0u8; pair.public_modulus_len()];
    let sign = |sig: &mut [u8]| {
        if pair.sign(&RSA_PKCS1_SHA256, &rng, &message, sig).is_err() {
            eprintln!("signing failed");
            std::process::exit(1);
        }
    };
    // Warm up (caches, CPU frequency) for half a second.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(500) {
        sign(&mut signature);
    }
    let limit = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut count: u64 = 0;
    loop {
        for _ in 0..16 {
            sign(&mut signature);
        }
        count += 16;
        if start.elapsed() >= limit {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "aws-lc-rs rsa2048 RS256 sign/s: {:.1} ({count} signs in {elapsed:.2} s)",
        count as f64 / elapsed
    );
}
