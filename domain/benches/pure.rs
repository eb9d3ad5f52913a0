//! Micro-benchmarks of the pure functions on hot paths: the member score and
//! traffic light (once per member in every group report), the presence
//! decision (every referral made), the lifecycle check (every move), the
//! API-token shape and checksum (every partner request, before any database
//! lookup) and the access-token check (every member request).
//!
//! `scripts/bench-micro` runs them; the README's "Benchmarks" has figures.
//! Inputs are shaped like their callers' (see each function's comment).

use std::hint::black_box;

use chrono::{NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::auth::{api_tokens, jwt::JwtKeys, random_token};
use domain::referrals::lifecycle::{Mover, check_move};
use domain::referrals::presence::{Circumstances, absence_reason};
use domain::reports::score::{Activity, TrafficLight, score, window_start};
use domain::validation::new_id;
use entities::{AttendanceStatus, Channel, ReferralStatus};

/// What `group_report` does per member: the window from the seat's joining
/// date, the five parts over it, the total's light.
fn member_score(c: &mut Criterion) {
    let to = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let joined_on = NaiveDate::from_ymd_opt(2024, 3, 12).unwrap();
    // A steady member over 26 weeks: one absence, a referral a week,
    // 20 one-to-ones, 4 visitors, 3 referrals won (GREEN, 75 points).
    let counts = Activity {
        days: 0,
        absences: 1,
        given: 26,
        one_to_ones: 20,
        visitors: 4,
        won_given: 3,
    };
    c.bench_function("score/member_score_and_light", |b| {
        b.iter(|| {
            let (to, joined_on, counts) = black_box((to, joined_on, counts));
            let start = window_start(to, joined_on);
            let s = score(Activity {
                days: (to - start).num_days() + 1,
                ..counts
            });
            (s, TrafficLight::for_score(s.total()))
        })
    });
}

/// What `referrals::routing` asks when a referral is given.
fn presence(c: &mut Criterion) {
    // Passed at the meeting the receiver attended: made in their presence.
    let at_meeting = Circumstances {
        channel: Channel::Meeting,
        meeting_attendance: Some(AttendanceStatus::Present),
        receiver_away: false,
    };
    // Through a partner firm's API: every row of the table is read.
    let partner_api = Circumstances {
        channel: Channel::PartnerApi,
        meeting_attendance: None,
        receiver_away: false,
    };
    c.bench_function("presence/meeting_present", |b| {
        b.iter(|| absence_reason(black_box(at_meeting)))
    });
    c.bench_function("presence/partner_api", |b| {
        b.iter(|| absence_reason(black_box(partner_api)))
    });
}

/// What `referrals::moves::advance` checks before writing.
fn lifecycle(c: &mut Criterion) {
    let receiver = [Mover::Receiver];
    c.bench_function("lifecycle/contacted_to_won_allowed", |b| {
        b.iter(|| {
            check_move(
                black_box(ReferralStatus::Contacted),
                black_box(ReferralStatus::Won),
                black_box(&receiver),
            )
        })
    });
    c.bench_function("lifecycle/submitted_to_withdrawn_wrong_mover", |b| {
        b.iter(|| {
            check_move(
                black_box(ReferralStatus::Submitted),
                black_box(ReferralStatus::Withdrawn),
                black_box(&receiver),
            )
        })
    });
}

/// What `api_tokens::authenticate` checks before looking the token up.
fn api_token(c: &mut Criterion) {
    let valid = api_tokens::generate();
    // One character of the random part mistyped: only the checksum says so.
    let mut typo = valid.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert!(api_tokens::well_formed(&valid) && !api_tokens::well_formed(&typo));
    c.bench_function("api_token/well_formed_valid", |b| {
        b.iter(|| api_tokens::well_formed(black_box(&valid)))
    });
    c.bench_function("api_token/well_formed_typo", |b| {
        b.iter(|| api_tokens::well_formed(black_box(&typo)))
    });
}

/// What `Caller::from_authorization` does with a member's bearer token.
fn access_token(c: &mut Criterion) {
    // As the server sets them up: a 48-character secret, 15-minute tokens.
    let keys = JwtKeys::new(random_token(48).as_bytes(), 15 * 60);
    let (token, _) = keys.issue(&new_id(), &new_id(), Utc::now()).unwrap();
    keys.verify(&token).unwrap();
    c.bench_function("jwt/verify_access_token", |b| {
        b.iter(|| keys.verify(black_box(&token)).unwrap())
    });
}

criterion_group!(
    benches,
    member_score,
    presence,
    lifecycle,
    api_token,
    access_token
);
criterion_main!(benches);
