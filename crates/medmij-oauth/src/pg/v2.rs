//! The 2.x part of [`PgStore`]: 2.x code data, long-lasting consents (rotation chains) and
//! refresh tokens (MedMij OAUTH-19, OAUTH-22), hashes only (OAUTH-14).
//!
//! Migration: three new tables and two new nullable/defaulted columns of `<prefix>_tokens`
//! (`chain_id`, `via_refresh`), added with `IF NOT EXISTS`, so existing 1.x rows keep their
//! meaning (no chain, issued for a code).

use super::{
    CODE_RETENTION, LIFETIME, PgStore, backend, bad_row, before, nanos, time, use_case_code,
    use_case_of,
};
use crate::refresh::{CodeV2, ConsentId, ConsentRecord, LongLastingConsent, Rotation};
use crate::secret::SecretHash;
use crate::store::{StoreError, TokenRecord, later};
use crate::tracing::CorrelationId;
use crate::{ClientId, Scope, ScopeForm, Subject};
use postgres::Transaction;
use std::time::{Duration, SystemTime};

/// The 2.x tables and columns, for the `CREATE` batch of [`PgStore::from_clients`].
pub(super) fn migration(p: &str) -> String {
    format!(
        "ALTER TABLE {p}_tokens ADD COLUMN IF NOT EXISTS chain_id bytea;
         ALTER TABLE {p}_tokens ADD COLUMN IF NOT EXISTS via_refresh boolean NOT NULL DEFAULT false;
         ALTER TABLE {p}_tokens ADD COLUMN IF NOT EXISTS v2 boolean NOT NULL DEFAULT false;
         CREATE TABLE IF NOT EXISTS {p}_code_v2 (
            hash bytea PRIMARY KEY,
            wire_scope text NOT NULL,
            long_lasting boolean NOT NULL,
            correlation_id text NOT NULL,
            issued_at bigint NOT NULL);
         CREATE TABLE IF NOT EXISTS {p}_chains (
            id bytea PRIMARY KEY,
            code_hash bytea NOT NULL,
            client_id text NOT NULL,
            subject text NOT NULL,
            scope text NOT NULL,
            wire_scope text NOT NULL,
            use_case smallint NOT NULL,
            granted_at bigint NOT NULL,
            rotated_at bigint NOT NULL,
            revoked boolean NOT NULL DEFAULT false);
         CREATE INDEX IF NOT EXISTS {p}_chains_code ON {p}_chains (code_hash);
         CREATE INDEX IF NOT EXISTS {p}_chains_person ON {p}_chains (subject, client_id);
         CREATE TABLE IF NOT EXISTS {p}_refresh (
            hash bytea PRIMARY KEY,
            chain_id bytea NOT NULL,
            issued_at bigint NOT NULL,
            retired boolean NOT NULL DEFAULT false);
         CREATE INDEX IF NOT EXISTS {p}_refresh_chain ON {p}_refresh (chain_id);"
    )
}

fn dur(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn b(h: &SecretHash) -> &[u8] {
    &h.as_bytes()[..]
}

/// True if `hash` is held by a kept code, access token or refresh token (MedMij OAUTH-6,
/// across kinds).
fn held(
    tx: &mut Transaction<'_>,
    p: &str,
    hash: &SecretHash,
    now: SystemTime,
) -> Result<bool, StoreError> {
    let row = tx
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {p}_codes WHERE hash = $1 AND issued_at > $2)
                     OR EXISTS (SELECT 1 FROM {p}_tokens WHERE hash = $1 AND issued_at > $3)
                     OR EXISTS (SELECT 1 FROM {p}_refresh WHERE hash = $1)"
            ),
            &[
                &b(hash),
                &before(now, CODE_RETENTION)?,
                &before(now, LIFETIME)?,
            ],
        )
        .map_err(backend)?;
    row.try_get(0).map_err(backend)
}

fn consent_of(row: &postgres::Row, at: usize) -> Result<ConsentRecord, StoreError> {
    let id: &[u8] = row.try_get(at).map_err(backend)?;
    let id: [u8; 16] = id.try_into().map_err(|_| bad_row("chain id"))?;
    Ok(ConsentRecord {
        id: ConsentId::from_bytes(id),
        client_id: ClientId::new(row.try_get(at + 1).map_err(backend)?)
            .map_err(|_| bad_row("client_id"))?,
        subject: Subject::new(row.try_get::<_, String>(at + 2).map_err(backend)?)
            .map_err(|_| bad_row("subject"))?,
        scope: Scope::parse(row.try_get(at + 3).map_err(backend)?, ScopeForm::Multiple)
            .map_err(|_| bad_row("scope"))?,
        wire_scope: row.try_get::<_, String>(at + 4).map_err(backend)?,
        use_case: use_case_of(row.try_get(at + 5).map_err(backend)?)?,
        granted_at: time(row.try_get(at + 6).map_err(backend)?),
    })
}

const CHAIN_COLS: &str =
    "ch.id, ch.client_id, ch.subject, ch.scope, ch.wire_scope, ch.use_case, ch.granted_at";

impl PgStore {
    pub(super) fn pg_insert_code_v2(
        &self,
        code: &SecretHash,
        v2: &CodeV2,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let p = &self.prefix;
        self.conn()?
            .client
            .execute(
                &format!(
                    "INSERT INTO {p}_code_v2 (hash, wire_scope, long_lasting, correlation_id, issued_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (hash) DO UPDATE SET wire_scope = EXCLUDED.wire_scope,
                        long_lasting = EXCLUDED.long_lasting,
                        correlation_id = EXCLUDED.correlation_id, issued_at = EXCLUDED.issued_at"
                ),
                &[
                    &b(code),
                    &v2.wire_scope,
                    &v2.long_lasting,
                    &v2.correlation_id.to_string(),
                    &nanos(now)?,
                ],
            )
            .map_err(backend)?;
        Ok(())
    }

    pub(super) fn pg_code_v2(
        &self,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<CodeV2>, StoreError> {
        let p = &self.prefix;
        let mut c = self.conn()?;
        let c = &mut *c;
        let stmt = c
            .cache
            .get(&mut c.client, "code_v2", || {
                format!(
                    "SELECT wire_scope, long_lasting, correlation_id FROM {p}_code_v2
                     WHERE hash = $1 AND issued_at > $2"
                )
            })
            .map_err(backend)?;
        let rows = c
            .client
            .query(&stmt, &[&b(code), &before(now, CODE_RETENTION)?])
            .map_err(backend)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(CodeV2 {
            wire_scope: row.try_get(0).map_err(backend)?,
            long_lasting: row.try_get(1).map_err(backend)?,
            correlation_id: CorrelationId::new(row.try_get(2).map_err(backend)?)
                .map_err(|_| bad_row("correlation_id"))?,
        }))
    }

    pub(super) fn pg_insert_token_with_refresh(
        &self,
        access: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        refresh: &SecretHash,
        consent: &ConsentRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if access == refresh {
            return Err(StoreError::Collision);
        }
        let p = self.prefix.clone();
        let mut c = self.conn()?;
        let c = &mut *c;
        let insert_token = c.insert_token.clone();
        let mut tx = c.client.transaction().map_err(backend)?;
        if held(&mut tx, &p, refresh, now)? {
            return Err(StoreError::Collision);
        }
        let in_refresh: bool = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {p}_refresh WHERE hash = $1)"),
                &[&b(access)],
            )
            .map_err(backend)?
            .try_get(0)
            .map_err(backend)?;
        if in_refresh {
            return Err(StoreError::Collision);
        }
        let row = tx
            .query_one(
                &insert_token,
                &[
                    &b(access),
                    &b(code),
                    &record.client_id.as_str(),
                    &record.scope.as_str(),
                    &record.subject.as_str(),
                    &use_case_code(record.use_case),
                    &nanos(record.issued_at)?,
                    &before(now, LIFETIME)?,
                ],
            )
            .map_err(backend)?;
        let eligible: i64 = row.try_get(0).map_err(backend)?;
        let inserted: i64 = row.try_get(1).map_err(backend)?;
        match (eligible, inserted) {
            (0, _) => return Err(StoreError::CodeRevoked),
            (_, 0) => return Err(StoreError::Collision),
            _ => {}
        }
        let id = &consent.id.as_bytes()[..];
        tx.execute(
            &format!("UPDATE {p}_tokens SET chain_id = $1 WHERE hash = $2"),
            &[&id, &b(access)],
        )
        .map_err(backend)?;
        let n = tx
            .execute(
                &format!(
                    "INSERT INTO {p}_chains (id, code_hash, client_id, subject, scope, wire_scope,
                        use_case, granted_at, rotated_at, revoked)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, false)
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[
                    &id,
                    &b(code),
                    &consent.client_id.as_str(),
                    &consent.subject.as_str(),
                    &consent.scope.as_str(),
                    &consent.wire_scope,
                    &use_case_code(consent.use_case),
                    &nanos(now)?,
                ],
            )
            .map_err(backend)?;
        if n != 1 {
            return Err(StoreError::Collision);
        }
        tx.execute(
            &format!("INSERT INTO {p}_refresh (hash, chain_id, issued_at) VALUES ($1, $2, $3)"),
            &[&b(refresh), &id, &nanos(now)?],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    pub(super) fn pg_rotate(
        &self,
        presented: &SecretHash,
        new_access: &SecretHash,
        new_refresh: &SecretHash,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Rotation, StoreError> {
        let p = self.prefix.clone();
        let mut c = self.conn()?;
        let mut tx = c.client.transaction().map_err(backend)?;
        // The chain row is locked: rotations of one chain are serialised, and a second
        // presentation of the same token waits and then sees it retired (MedMij OAUTH-19).
        let rows = tx
            .query(
                &format!(
                    "SELECT {CHAIN_COLS}, r.issued_at, r.retired, ch.revoked
                     FROM {p}_refresh r JOIN {p}_chains ch ON ch.id = r.chain_id
                     WHERE r.hash = $1 FOR UPDATE OF ch, r"
                ),
                &[&b(presented)],
            )
            .map_err(backend)?;
        let Some(row) = rows.first() else {
            return Ok(Rotation::Unknown);
        };
        let record = consent_of(row, 0)?;
        let issued_at: i64 = row.try_get(7).map_err(backend)?;
        let retired: bool = row.try_get(8).map_err(backend)?;
        let revoked: bool = row.try_get(9).map_err(backend)?;
        let id = record.id.as_bytes().to_vec();
        if &record.client_id != client {
            return Ok(Rotation::OtherClient);
        }
        if revoked {
            return Ok(Rotation::Revoked);
        }
        if retired {
            // MedMij OAUTH-19: a breach; the whole chain goes.
            tx.execute(
                &format!("UPDATE {p}_chains SET revoked = true WHERE id = $1"),
                &[&id],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            return Ok(Rotation::Replayed);
        }
        if nanos(now)? >= issued_at.saturating_add(dur(lifetime)) {
            return Ok(Rotation::Expired);
        }
        if new_access == new_refresh
            || held(&mut tx, &p, new_refresh, now)?
            || held(&mut tx, &p, new_access, now)?
        {
            return Err(StoreError::Collision);
        }
        let n = tx
            .execute(
                &format!(
                    "INSERT INTO {p}_tokens AS tk
                        (hash, code_hash, client_id, scope, subject, use_case, issued_at,
                         chain_id, via_refresh)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true)
                     ON CONFLICT (hash) DO UPDATE SET
                        code_hash = EXCLUDED.code_hash, client_id = EXCLUDED.client_id,
                        scope = EXCLUDED.scope, subject = EXCLUDED.subject,
                        use_case = EXCLUDED.use_case, issued_at = EXCLUDED.issued_at,
                        chain_id = EXCLUDED.chain_id, via_refresh = true
                     WHERE tk.issued_at <= $9"
                ),
                &[
                    &b(new_access),
                    &b(presented),
                    &record.client_id.as_str(),
                    &record.scope.as_str(),
                    &record.subject.as_str(),
                    &use_case_code(record.use_case),
                    &nanos(now)?,
                    &id,
                    &before(now, LIFETIME)?,
                ],
            )
            .map_err(backend)?;
        if n != 1 {
            return Err(StoreError::Collision);
        }
        tx.execute(
            &format!("UPDATE {p}_refresh SET retired = true WHERE hash = $1"),
            &[&b(presented)],
        )
        .map_err(backend)?;
        tx.execute(
            &format!("INSERT INTO {p}_refresh (hash, chain_id, issued_at) VALUES ($1, $2, $3)"),
            &[&b(new_refresh), &id, &nanos(now)?],
        )
        .map_err(backend)?;
        tx.execute(
            &format!("UPDATE {p}_chains SET rotated_at = $2 WHERE id = $1"),
            &[&id, &nanos(now)?],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(Rotation::Rotated(record))
    }

    pub(super) fn pg_mark_v2(&self, access: &SecretHash) -> Result<(), StoreError> {
        let p = &self.prefix;
        self.conn()?
            .client
            .execute(
                &format!("UPDATE {p}_tokens SET v2 = true WHERE hash = $1"),
                &[&b(access)],
            )
            .map_err(backend)?;
        Ok(())
    }

    pub(super) fn pg_is_v2(&self, access: &SecretHash) -> Result<bool, StoreError> {
        let p = &self.prefix;
        let mut c = self.conn()?;
        let c = &mut *c;
        let stmt = c
            .cache
            .get(&mut c.client, "is_v2", || {
                format!("SELECT v2 OR chain_id IS NOT NULL FROM {p}_tokens WHERE hash = $1")
            })
            .map_err(backend)?;
        let rows = c.client.query(&stmt, &[&b(access)]).map_err(backend)?;
        match rows.first() {
            Some(r) => r.try_get(0).map_err(backend),
            None => Ok(false),
        }
    }

    pub(super) fn pg_revoke_of_code(
        &self,
        code: &SecretHash,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        let p = &self.prefix;
        let n = self
            .conn()?
            .client
            .execute(
                &format!(
                    "UPDATE {p}_chains SET revoked = true WHERE code_hash = $1 AND NOT revoked"
                ),
                &[&b(code)],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    pub(super) fn pg_consents(
        &self,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<LongLastingConsent>, StoreError> {
        let p = &self.prefix;
        let rows = self
            .conn()?
            .client
            .query(
                &format!(
                    "SELECT {CHAIN_COLS}, ch.rotated_at FROM {p}_chains ch
                     WHERE ch.subject = $1 AND ch.client_id = $2 AND NOT ch.revoked
                       AND ch.rotated_at > $3
                     ORDER BY ch.granted_at, ch.id"
                ),
                &[&subject.as_str(), &client.as_str(), &before(now, lifetime)?],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let record = consent_of(row, 0)?;
                let last_rotation = time(row.try_get(7).map_err(backend)?);
                Ok(LongLastingConsent {
                    record,
                    last_rotation,
                    expires_at: later(last_rotation, lifetime),
                })
            })
            .collect()
    }

    pub(super) fn pg_withdraw(
        &self,
        id: &ConsentId,
        subject: &Subject,
        client: &ClientId,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        let p = &self.prefix;
        let n = self
            .conn()?
            .client
            .execute(
                &format!(
                    "UPDATE {p}_chains SET revoked = true
                     WHERE id = $1 AND subject = $2 AND client_id = $3 AND NOT revoked"
                ),
                &[&&id.as_bytes()[..], &subject.as_str(), &client.as_str()],
            )
            .map_err(backend)?;
        Ok(n == 1)
    }

    pub(super) fn pg_sweep_v2(
        &self,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<usize, StoreError> {
        let p = self.prefix.clone();
        let mut c = self.conn()?;
        let mut tx = c.client.transaction().map_err(backend)?;
        let a = tx
            .execute(
                &format!("DELETE FROM {p}_code_v2 WHERE issued_at <= $1"),
                &[&before(now, CODE_RETENTION)?],
            )
            .map_err(backend)?;
        let cut = before(now, lifetime)?;
        tx.execute(
            &format!(
                "DELETE FROM {p}_refresh r USING {p}_chains ch
                 WHERE r.chain_id = ch.id AND ch.rotated_at <= $1"
            ),
            &[&cut],
        )
        .map_err(backend)?;
        let b = tx
            .execute(
                &format!("DELETE FROM {p}_chains WHERE rotated_at <= $1"),
                &[&cut],
            )
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(usize::try_from(a + b).unwrap_or(usize::MAX))
    }
}
