//! One operator alert per episode of PSN rejecting the credential. The client tries to sign in
//! again with a growing backoff; alerting at each rejected retry would bury the one message the
//! operator has to act on.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::AlertHook;

/// What the operator reads when PSN rejects the credential. `reason` is PSN's (never a secret).
pub fn credential_rejected_alert(reason: &str) -> String {
    format!(
        "PSN rejected the bot's credential ({reason}); commands answer with the credential error \
         and the bot retries the sign-in after 1 minute, then 2, 4 … up to every 30 minutes. \
         If it does not recover: sign in to PlayStation again, set a new PSN_NPSSO and restart \
         the bot"
    )
}

/// What the operator reads when PSN rejects credential `label` of a pool (`psn-2`): the rest
/// of the pool carries on with its players.
pub fn pool_credential_rejected_alert(label: &str, reason: &str) -> String {
    format!(
        "PSN rejected the bot's credential {label} ({reason}); its tracked players moved to the \
         other credentials of PSN_NPSSO, which carry on, and the bot retries its sign-in after \
         1 minute, then 2, 4 … up to every 30 minutes. If it does not recover: sign in to \
         PlayStation again with that account, replace entry {position} of PSN_NPSSO and \
         restart the bot",
        position = label.trim_start_matches("psn-")
    )
}

/// Until `cancel`: at the start of every rejection episode logs an error and posts to `alert`,
/// once; when a sign-in succeeds again, logs that it recovered. `label` names the credential
/// in a pool (`None`: the only one).
pub fn spawn_credential_rejection_alert(
    client: &psn::Client,
    label: Option<String>,
    alert: Option<AlertHook>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let mut rejection = client.watch_credential_rejection();
    tokio::spawn(async move {
        // An episode that began before this task started counts too.
        let already_rejected = rejection.borrow_and_update().clone();
        if let Some(reason) = already_rejected {
            alert_rejected(label.as_deref(), &reason, alert.as_ref()).await;
        }
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                changed = rejection.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
            // The value changes only when an episode starts or ends.
            let rejected = rejection.borrow_and_update().clone();
            match rejected {
                Some(reason) => alert_rejected(label.as_deref(), &reason, alert.as_ref()).await,
                None => tracing::info!(
                    credential = label.as_deref().unwrap_or("psn-1"),
                    "PSN accepts the bot's credential again"
                ),
            }
        }
    })
}

async fn alert_rejected(label: Option<&str>, reason: &str, alert: Option<&AlertHook>) {
    let message = match label {
        Some(label) => pool_credential_rejected_alert(label, reason),
        None => credential_rejected_alert(reason),
    };
    tracing::error!(credential = label.unwrap_or("psn-1"), "{message}");
    if let Some(alert) = alert {
        alert(message).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use psn_sim::{Fault, Sim, SimConfig, SIM_NPSSO};
    use tokio::sync::mpsc;

    use super::*;

    fn authorize_requests(sim: &Sim) -> usize {
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth/authorize"))
            .count()
    }

    /// An alert hook that hands every alert to the test.
    fn recording_hook() -> (AlertHook, mpsc::UnboundedReceiver<String>) {
        let (sender, alerts) = mpsc::unbounded_channel();
        let hook: AlertHook = Arc::new(move |text: String| {
            let sender = sender.clone();
            Box::pin(async move {
                let _ = sender.send(text);
            })
        });
        (hook, alerts)
    }

    /// Every alert posted so far. The sleep runs in paused time: it returns once every other
    /// task has gone idle, so the watcher has handled all it was told.
    async fn alerts_so_far(alerts: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut posted = Vec::new();
        while let Ok(alert) = alerts.try_recv() {
            posted.push(alert);
        }
        posted
    }

    async fn assert_credential_error(client: &psn::Client, hunter: &psn::Account) {
        match client.trophy_summary(hunter).await {
            Err(psn::Error::Credential(_)) => {}
            other => panic!("expected a credential error, got {other:?}"),
        }
    }

    #[test]
    fn a_pool_credentials_alert_names_it_by_position_and_says_the_rest_carry_on() {
        let alert = pool_credential_rejected_alert("psn-2", "login_required");
        assert!(
            alert.contains("credential psn-2 (login_required)"),
            "{alert}"
        );
        assert!(alert.contains("moved to the other credentials"), "{alert}");
        assert!(alert.contains("replace entry 2 of PSN_NPSSO"), "{alert}");
    }

    #[tokio::test(start_paused = true)]
    async fn one_alert_per_rejection_episode_not_per_retry() {
        let sim = Sim::new(SimConfig::default());
        let server = sim
            .serve(([127, 0, 0, 1], 0).into())
            .await
            .expect("the simulator serves");
        let config = psn::Config::new(
            psn::ApiKind::Modern,
            psn::Credential::Npsso(psn::Secret::new(SIM_NPSSO)),
        )
        .with_base_url(&server.base_url);
        let client = psn::Client::new(config).expect("client").background();
        let (hook, mut alerts) = recording_hook();
        let cancel = CancellationToken::new();
        let watcher = spawn_credential_rejection_alert(&client, None, Some(hook), cancel.clone());

        let hunter = client
            .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
            .await
            .expect("signed in");
        assert!(alerts_so_far(&mut alerts).await.is_empty());

        // Episode one: the NPSSO and the tokens are rejected through four backoffs.
        sim.inject(Fault::RevokeTokens);
        sim.inject(Fault::RejectNpsso);
        sim.reset_requests();
        for _ in 0..4 {
            for _ in 0..5 {
                assert_credential_error(&client, &hunter).await;
            }
            tokio::time::advance(Duration::from_secs(31 * 60)).await;
        }
        assert_eq!(authorize_requests(&sim), 4, "one sign-in per backoff");
        let posted = alerts_so_far(&mut alerts).await;
        assert_eq!(posted.len(), 1, "{posted:?}");
        assert!(posted[0].contains("PSN rejected the bot's credential"));
        assert!(posted[0].contains("4165"), "PSN's reason: {}", posted[0]);
        assert!(posted[0].contains("PSN_NPSSO"));
        assert!(!posted[0].contains(SIM_NPSSO));

        // PSN takes the NPSSO again: the episode ends without another alert.
        sim.clear_faults();
        tokio::time::advance(Duration::from_secs(31 * 60)).await;
        client
            .trophy_summary(&hunter)
            .await
            .expect("signed in again");
        assert!(alerts_so_far(&mut alerts).await.is_empty());

        // A later rejection is a new episode: one more alert.
        sim.inject(Fault::RevokeTokens);
        sim.inject(Fault::RejectNpsso);
        for _ in 0..3 {
            assert_credential_error(&client, &hunter).await;
            tokio::time::advance(Duration::from_secs(31 * 60)).await;
        }
        assert_eq!(alerts_so_far(&mut alerts).await.len(), 1);

        cancel.cancel();
        watcher.await.expect("the watcher stops");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejection_before_the_watcher_started_is_alerted() {
        let sim = Sim::new(SimConfig::default());
        let server = sim
            .serve(([127, 0, 0, 1], 0).into())
            .await
            .expect("the simulator serves");
        sim.inject(Fault::RejectNpsso);
        let config = psn::Config::new(
            psn::ApiKind::Modern,
            psn::Credential::Npsso(psn::Secret::new(SIM_NPSSO)),
        )
        .with_base_url(&server.base_url);
        let client = psn::Client::new(config).expect("client");
        let rejected = client
            .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
            .await;
        assert!(matches!(rejected, Err(psn::Error::Credential(_))));

        let (hook, mut alerts) = recording_hook();
        let cancel = CancellationToken::new();
        let watcher = spawn_credential_rejection_alert(&client, None, Some(hook), cancel.clone());
        assert_eq!(alerts_so_far(&mut alerts).await.len(), 1);
        cancel.cancel();
        watcher.await.expect("the watcher stops");
    }
}
