//! Discord users linked to their PSN account (`/link`, `/unlink`), and the verification that a
//! link's owner controls the PSN account: a short code they put in their PSN "About me".

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{snowflake_to_db, Store, StoreError};

/// Every verification code starts with this, so it stands out in an "About me" text.
pub const VERIFY_CODE_PREFIX: &str = "TB-";
/// Characters after the prefix: upper-case letters and digits that cannot be mistaken for one
/// another when typed on a console keyboard (no 0/O, 1/I/L).
const VERIFY_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const VERIFY_CODE_LENGTH: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkedAccount {
    pub account_id: String,
    pub online_id: String,
    /// When the user proved the account is theirs; `None` until then.
    pub verified_at: Option<DateTime<Utc>>,
}

/// A fresh random code such as `TB-7KQ2XM`.
pub fn new_verify_code() -> String {
    let mut rng = rand::thread_rng();
    let suffix: String = (0..VERIFY_CODE_LENGTH)
        .map(|_| char::from(VERIFY_CODE_ALPHABET[rng.gen_range(0..VERIFY_CODE_ALPHABET.len())]))
        .collect();
    format!("{VERIFY_CODE_PREFIX}{suffix}")
}

/// Whether an "About me" text holds `code`. Case is ignored: the PlayStation app's keyboard
/// may capitalise differently than the code was shown.
pub fn about_me_holds_code(about_me: &str, code: &str) -> bool {
    !code.is_empty()
        && about_me
            .to_ascii_uppercase()
            .contains(&code.to_ascii_uppercase())
}

impl Store {
    /// Links `discord_user_id` to a PSN account, replacing any earlier link (which then has to
    /// be verified again), and returns the new link's verification code.
    pub async fn link_user(
        &self,
        discord_user_id: u64,
        account_id: &str,
        online_id: &str,
    ) -> Result<String, StoreError> {
        let code = new_verify_code();
        sqlx::query(
            "INSERT INTO linked_users (discord_user_id, account_id, online_id, verify_code, linked_at)
             VALUES ($1, $2, $3, $4, now())
             ON CONFLICT (discord_user_id) DO UPDATE
             SET account_id = EXCLUDED.account_id,
                 online_id = EXCLUDED.online_id,
                 verify_code = EXCLUDED.verify_code,
                 verified_at = NULL,
                 linked_at = now()",
        )
        .bind(snowflake_to_db(discord_user_id))
        .bind(account_id)
        .bind(online_id)
        .bind(&code)
        .execute(&self.pool)
        .await?;
        Ok(code)
    }

    /// The verification code of the user's link, given one now if it has none; `None` when the
    /// user has no link.
    pub async fn verify_code(&self, discord_user_id: u64) -> Result<Option<String>, StoreError> {
        let code: Option<(String,)> = sqlx::query_as(
            "UPDATE linked_users SET verify_code = COALESCE(verify_code, $2)
             WHERE discord_user_id = $1
             RETURNING verify_code",
        )
        .bind(snowflake_to_db(discord_user_id))
        .bind(new_verify_code())
        .fetch_optional(&self.pool)
        .await?;
        Ok(code.map(|(code,)| code))
    }

    /// Marks the user's link verified, and records the online ID PSN shows now (after a
    /// rename). Only while the link still names `account_id`: a check that raced a relink to
    /// another account must not verify the new one. An earlier verification time is kept.
    /// Returns whether the link was (or already had been) verified.
    pub async fn mark_link_verified(
        &self,
        discord_user_id: u64,
        account_id: &str,
        online_id: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE linked_users
             SET verified_at = COALESCE(verified_at, now()), online_id = $3
             WHERE discord_user_id = $1 AND account_id = $2",
        )
        .bind(snowflake_to_db(discord_user_id))
        .bind(account_id)
        .bind(online_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Removes the user's link and returns what it was; `None` when there was none.
    pub async fn remove_link(
        &self,
        discord_user_id: u64,
    ) -> Result<Option<LinkedAccount>, StoreError> {
        let removed = sqlx::query_as(
            "DELETE FROM linked_users WHERE discord_user_id = $1
             RETURNING account_id, online_id, verified_at",
        )
        .bind(snowflake_to_db(discord_user_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(removed)
    }

    /// The PSN account linked to `discord_user_id`, if any.
    pub async fn linked_account(
        &self,
        discord_user_id: u64,
    ) -> Result<Option<LinkedAccount>, StoreError> {
        let linked = sqlx::query_as(
            "SELECT account_id, online_id, verified_at FROM linked_users
             WHERE discord_user_id = $1",
        )
        .bind(snowflake_to_db(discord_user_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(linked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_prefix_and_six_unambiguous_characters() {
        for _ in 0..200 {
            let code = new_verify_code();
            let suffix = code.strip_prefix(VERIFY_CODE_PREFIX).expect("the prefix");
            assert_eq!(suffix.len(), VERIFY_CODE_LENGTH, "{code}");
            assert!(
                suffix.bytes().all(|b| VERIFY_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            assert!(!suffix.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        let distinct: std::collections::HashSet<String> =
            (0..50).map(|_| new_verify_code()).collect();
        assert!(distinct.len() > 45, "codes repeat: {distinct:?}");
    }

    #[test]
    fn the_code_is_found_anywhere_in_about_me_whatever_the_case() {
        assert!(about_me_holds_code("TB-7KQ2XM", "TB-7KQ2XM"));
        assert!(about_me_holds_code(
            "Trophy hunter. tb-7kq2xm :)",
            "TB-7KQ2XM"
        ));
        assert!(!about_me_holds_code("TB-7KQ2X", "TB-7KQ2XM"));
        assert!(!about_me_holds_code("TB 7KQ2XM", "TB-7KQ2XM"));
        assert!(!about_me_holds_code("anything", ""));
    }
}
