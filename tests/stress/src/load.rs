//! The load run: `STRESS_REQUESTS` (3,000) requests at `STRESS_CONCURRENCY` (32) across
//! `STRESS_MEMBERS` (300) members. Each member registers, may mistype its password, logs in,
//! exchanges its session for tokens, refreshes from two or three tabs at once, changes its
//! password (a third of them ending their other sessions), logs out, and then tries its dead
//! session and refresh token again; ten of them are then hit by a burst of twelve wrong
//! passwords at once. No answer may be a 5xx or anything else the contract does not give, and
//! afterwards every count in the tables must be exact.

use std::time::Instant;

use rand::Rng;

use crate::client::{Api, latency_table};
use crate::member::Member;
use crate::tables::Tables;
use crate::{email, env_or, password, report_answers, report_checks, warm};

/// The wrong passwords of an attacker's burst, and how many members get one.
const BURST: usize = 12;
const BURST_MEMBERS: usize = 10;

struct Plan {
    wrong_first: usize,
    tabs: usize,
    revoke_others: bool,
    burst: bool,
}

impl Plan {
    fn requests(&self) -> usize {
        // register, login, exchange, tabs, change password, logout, the two probes after it.
        self.wrong_first
            + 7
            + self.tabs
            + usize::from(self.revoke_others)
            + if self.burst { BURST } else { 0 }
    }
}

/// Plans for `members` adding up to `requests` requests (as near as the fixed steps allow).
fn plans(members: usize, requests: usize) -> Vec<Plan> {
    let mut rng = rand::thread_rng();
    let mut plans: Vec<Plan> = (0..members)
        .map(|i| Plan {
            wrong_first: 0,
            tabs: 2,
            revoke_others: i % 3 == 0,
            burst: i < BURST_MEMBERS,
        })
        .collect();
    let mut total: usize = plans.iter().map(Plan::requests).sum();
    while total < requests {
        let p = &mut plans[rng.gen_range(0..members)];
        if rng.gen_bool(0.6) && p.wrong_first < 3 {
            p.wrong_first += 1;
        } else if p.tabs < 4 {
            p.tabs += 1;
        } else {
            continue;
        }
        total += 1;
    }
    plans
}

async fn journey(api: Api, mut m: Member, plan: Plan) -> Member {
    m.register(&api).await;
    for _ in 0..plan.wrong_first {
        m.login(&api, false).await;
    }
    let Some(i) = m.login(&api, true).await else {
        return m;
    };
    m.exchange(&api, i).await;
    m.refresh_tabs(&api, i, plan.tabs).await;
    m.change_password(&api, i, password(), plan.revoke_others)
        .await;
    m.logout(&api, i).await;
    m.probe_dead(&api, i).await;
    if plan.revoke_others && m.sessions.len() > 1 {
        // The registration's session, ended by the change (it has no refresh family).
        m.probe_dead(&api, 0).await;
    }
    if plan.burst {
        m.guess_burst(&api, BURST).await;
    }
    m
}

pub async fn run(base: &str) -> bool {
    let members: usize = env_or("STRESS_MEMBERS", 300);
    let requests: usize = env_or("STRESS_REQUESTS", 3000);
    let concurrency: usize = env_or("STRESS_CONCURRENCY", 32);
    let lock_after: u32 = env_or("LOGIN_LOCK_AFTER_FAILURES", 10);
    let mut api = Api::new(base, concurrency);
    api.enforce_timeout = false;
    let warmed = warm(&api, None).await;
    let warm_requests = api.rec.done();

    let plans = plans(members, requests);
    let planned: usize = plans.iter().map(Plan::requests).sum();
    println!("load: {planned} requests at concurrency {concurrency} across {members} members");
    api.rec.set_phase("load");
    let start = Instant::now();
    let tasks: Vec<_> = plans
        .into_iter()
        .enumerate()
        .map(|(i, plan)| {
            let m = Member::new(email("load", i), password(), None, lock_after);
            tokio::spawn(journey(api.clone(), m, plan))
        })
        .collect();
    let mut done = vec![warmed];
    for t in tasks {
        done.push(t.await.expect("a journey panicked"));
    }
    let wall = start.elapsed();
    let records = api.rec.records();
    let load: Vec<_> = records.iter().filter(|r| r.phase == "load").collect();
    let server_errors = load
        .iter()
        .filter(|r| r.status >= 500 || r.status == 0)
        .count();
    println!(
        "load: {} requests in {:.1} s = {:.1} requests/s ({} warm-up requests before)",
        load.len(),
        wall.as_secs_f64(),
        load.len() as f64 / wall.as_secs_f64(),
        warm_requests
    );
    println!("latency per route (load phase):");
    print!("{}", latency_table(&records, |r| r.phase == "load"));
    let slow = load
        .iter()
        .filter(|r| r.elapsed > crate::client::FUNCTION_TIMEOUT)
        .count();
    println!("5xx or no answer: {server_errors}");
    println!(
        "answers slower than the functions' timeout ({} s; queued behind argon2 on this machine's cores): {slow}",
        crate::client::FUNCTION_TIMEOUT.as_secs()
    );
    let answers_ok = report_answers(&api.rec);
    let checks = Tables::from_env().check(&done, true).await;
    let tables_ok = report_checks(&checks);
    let sessions_after_logout = done
        .iter()
        .flat_map(|m| &m.sessions)
        .filter(|s| s.live == crate::member::Tri::No)
        .count();
    println!("sessions logged out or ended, each tried again and refused: {sessions_after_logout}");
    answers_ok && tables_ok && server_errors == 0 && load.len() == planned
}
