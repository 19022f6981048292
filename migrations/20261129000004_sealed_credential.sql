-- The PSN refresh token is stored sealed (authenticated encryption under a key derived from the
-- NPSSO, which the database never holds), one row per credential keyed by the NPSSO's
-- fingerprint. Old rows held the token in plain text: they are dropped, not converted, so no
-- plaintext token survives; the next start signs in with the NPSSO again.
DROP TABLE psn_credential;

CREATE TABLE psn_credential (
    npsso_fingerprint     text PRIMARY KEY,
    nonce                 bytea NOT NULL,
    sealed_refresh_token  bytea NOT NULL,
    expires_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
