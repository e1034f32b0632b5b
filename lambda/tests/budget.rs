//! The shared send budget against moto's DynamoDB: conditional writes behave
//! as documented (the 21st take in a window waits, a recorded block stops
//! every container), and the cost of a slot (`scripts/bench` runs the
//! ignored benchmark and prints it).

use std::time::{Duration, Instant};

use dingtalk_notifier_lambda::budget::{SharedBudget, Turn, DEFAULT_ROBOT};
use testkit::Moto;

const TABLE: &str = "dingtalk-notifier-budget-state";

async fn table(moto: &Moto) -> aws_sdk_dynamodb::Client {
    crate::create_state_table(&moto.sdk_config().await, TABLE).await
}

/// Two containers (two budgets over one item) share 20 slots a minute: the
/// 21st take waits about a minute, whoever asks; a block recorded by one
/// stops the other.
#[tokio::test]
async fn two_containers_share_twenty_slots_and_a_block() {
    let moto = Moto::start().unwrap();
    let ddb = table(&moto).await;
    let window = Duration::from_secs(60);
    let a = SharedBudget::new(ddb.clone(), TABLE.into(), DEFAULT_ROBOT, 20, window);
    let b = SharedBudget::new(ddb, TABLE.into(), DEFAULT_ROBOT, 20, window);
    for i in 0..20 {
        let who = if i % 2 == 0 { &a } else { &b };
        assert!(matches!(who.take().await.unwrap(), Turn::Go(_)), "take {i}");
    }
    for who in [&a, &b] {
        match who.take().await.unwrap() {
            Turn::Wait(w) => assert!(
                w > Duration::from_secs(59) && w <= Duration::from_secs(72),
                "{w:?}"
            ),
            Turn::Go(r) => panic!("the 21st take in a window went: {r:?}"),
        }
    }
    let fresh = SharedBudget::new(
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await),
        TABLE.into(),
        "other",
        20,
        window,
    );
    assert!(
        matches!(fresh.take().await.unwrap(), Turn::Go(_)),
        "another robot has its own budget"
    );
    let until = dingtalk_notifier_lambda::budget::now_ms() + 600_000;
    a.block(until).await.unwrap();
    let c = SharedBudget::new(
        aws_sdk_dynamodb::Client::new(&moto.sdk_config().await),
        TABLE.into(),
        DEFAULT_ROBOT,
        20,
        window,
    );
    match c.take().await.unwrap() {
        Turn::Wait(w) => assert!(w > Duration::from_secs(590), "{w:?}"),
        Turn::Go(r) => panic!("a fresh container took a slot during the block: {r:?}"),
    }
}

/// Ten containers race for one robot's slots at once: exactly 20 get one,
/// however the conditional writes interleave (DynamoDB applies a condition
/// and its write atomically; testkit's moto is made to as well).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_containers_never_take_more_than_the_limit() {
    let moto = Moto::start().unwrap();
    let ddb = table(&moto).await;
    let window = Duration::from_secs(60);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let ddb = ddb.clone();
            tokio::spawn(async move {
                let b = SharedBudget::new(ddb, TABLE.into(), DEFAULT_ROBOT, 20, window);
                let mut went = 0;
                for _ in 0..6 {
                    if let Turn::Go(_) = b.take().await.unwrap() {
                        went += 1;
                    }
                }
                went
            })
        })
        .collect();
    let mut went = 0;
    for t in tasks {
        went += t.await.unwrap();
    }
    assert_eq!(went, 20, "slots taken in one window by ten containers");
}

/// The cost of a slot: take + settle against moto, one container, a budget
/// that never makes it wait. Prints p50/p99.
#[tokio::test]
#[ignore = "benchmark: scripts/bench runs it"]
async fn bench_slot_latency() {
    let moto = Moto::start().unwrap();
    let ddb = table(&moto).await;
    let budget = SharedBudget::new(
        ddb,
        TABLE.into(),
        DEFAULT_ROBOT,
        1_000,
        Duration::from_millis(1),
    );
    let (mut takes, mut settles) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let t = Instant::now();
        let Turn::Go(r) = budget.take().await.unwrap() else {
            panic!("waited");
        };
        takes.push(t.elapsed());
        let t = Instant::now();
        budget
            .settle(r, dingtalk_notifier_lambda::budget::now_ms())
            .await
            .unwrap();
        settles.push(t.elapsed());
    }
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        v[(v.len() * p / 100).min(v.len() - 1)]
    };
    println!(
        "shared budget against moto, 300 slots: take p50 {:?} p99 {:?}; settle p50 {:?} p99 {:?}",
        pct(&mut takes, 50),
        pct(&mut takes, 99),
        pct(&mut settles, 50),
        pct(&mut settles, 99)
    );
}
