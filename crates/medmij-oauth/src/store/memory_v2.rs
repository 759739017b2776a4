//! The 2.x part of [`MemoryStore`]: 2.x code data, refresh tokens and their rotation chains
//! (MedMij OAUTH-19, OAUTH-22), all under one lock taken before any shard lock.

use super::{
    CODE_RETENTION, CodeState, LIFETIME, MemoryStore, StoreError, TokenEntry, TokenRecord,
    code_kept, later, lock, shard_for, token_kept,
};
use crate::refresh::{CodeV2, ConsentId, ConsentRecord, LongLastingConsent, Rotation};
use crate::secret::SecretHash;
use crate::{ClientId, Subject};
use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::{Duration, SystemTime};

struct RefreshEntry {
    chain: ConsentId,
    issued_at: SystemTime,
    retired: bool,
}

struct Chain {
    record: ConsentRecord,
    code: SecretHash,
    rotated_at: SystemTime,
    revoked: bool,
    /// Access tokens of the chain that may still be valid.
    access: Vec<(SecretHash, SystemTime)>,
    /// Every refresh token of the chain (kept for replay detection until the chain goes).
    refresh: Vec<SecretHash>,
}

/// The 2.x state of a [`MemoryStore`].
#[derive(Default)]
pub(super) struct V2Mem {
    codes: HashMap<SecretHash, (CodeV2, SystemTime)>,
    /// Entries left in `codes` by its last sweep: the next sweep comes after as many inserts
    /// (amortised O(1) per insert, as in the code shards).
    codes_kept: usize,
    /// Access tokens of 2.x flows, with their issue time (MedMij OAUTH-21).
    v2_tokens: HashMap<SecretHash, SystemTime>,
    v2_tokens_kept: usize,
    refresh: HashMap<SecretHash, RefreshEntry>,
    chains: HashMap<ConsentId, Chain>,
    by_code: HashMap<SecretHash, ConsentId>,
}

fn lock_v2(m: &std::sync::Mutex<V2Mem>) -> MutexGuard<'_, V2Mem> {
    // Every update below leaves the maps consistent between statements that can panic (none
    // do), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryStore {
    /// Revokes a chain: every access token of it and every refresh token (MedMij OAUTH-19).
    fn revoke_chain(&self, v2: &mut V2Mem, id: &ConsentId, now: SystemTime) -> bool {
        let Some(chain) = v2.chains.get_mut(id) else {
            return false;
        };
        if chain.revoked {
            return false;
        }
        chain.revoked = true;
        for (h, _) in chain.access.drain(..) {
            let mut t = lock(shard_for(&self.tokens, &h));
            if let Some(e) = t.map.get_mut(&h)
                && token_kept(e, now)
            {
                e.revoked = true;
            }
        }
        for h in &chain.refresh {
            if let Some(r) = v2.refresh.get_mut(h) {
                r.retired = true;
            }
        }
        true
    }

    /// True if `hash` is held by a kept code or access token (MedMij OAUTH-6, across kinds).
    fn held_elsewhere(&self, hash: &SecretHash, now: SystemTime) -> bool {
        let in_codes = lock(shard_for(&self.codes, hash))
            .map
            .get(hash)
            .is_some_and(|e| code_kept(e, now));
        in_codes
            || lock(shard_for(&self.tokens, hash))
                .map
                .get(hash)
                .is_some_and(|e| token_kept(e, now))
    }

    fn note_v2(m: &mut V2Mem, access: &SecretHash, now: SystemTime) {
        if m.v2_tokens.len() >= 2 * m.v2_tokens_kept.max(64) {
            m.v2_tokens.retain(|_, at| now < later(*at, LIFETIME));
            m.v2_tokens_kept = m.v2_tokens.len();
        }
        m.v2_tokens.insert(*access, now);
    }

    pub(super) fn mem_mark_v2(&self, access: &SecretHash, now: SystemTime) {
        Self::note_v2(&mut lock_v2(&self.v2), access, now);
    }

    pub(super) fn mem_is_v2(&self, access: &SecretHash, now: SystemTime) -> bool {
        lock_v2(&self.v2)
            .v2_tokens
            .get(access)
            .is_some_and(|at| now < later(*at, LIFETIME))
    }

    pub(super) fn mem_insert_code_v2(
        &self,
        code: &SecretHash,
        v2: &CodeV2,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut m = lock_v2(&self.v2);
        if m.codes.len() >= 2 * m.codes_kept.max(64) {
            m.codes
                .retain(|_, (_, at)| now < later(*at, CODE_RETENTION));
            m.codes_kept = m.codes.len();
        }
        m.codes.insert(*code, (v2.clone(), now));
        Ok(())
    }

    pub(super) fn mem_code_v2(
        &self,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<CodeV2>, StoreError> {
        let m = lock_v2(&self.v2);
        Ok(m.codes
            .get(code)
            .filter(|(_, at)| now < later(*at, CODE_RETENTION))
            .map(|(v, _)| v.clone()))
    }

    pub(super) fn mem_insert_token_with_refresh(
        &self,
        access: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        refresh: &SecretHash,
        consent: &ConsentRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut m = lock_v2(&self.v2);
        if access == refresh
            || m.refresh.contains_key(refresh)
            || m.refresh.contains_key(access)
            || m.chains.contains_key(&consent.id)
            || self.held_elsewhere(refresh, now)
        {
            return Err(StoreError::Collision);
        }
        let mut cshard = lock(shard_for(&self.codes, code));
        let Some(centry) = cshard.map.get_mut(code) else {
            return Err(StoreError::CodeRevoked);
        };
        if centry.state != (CodeState::Redeemed { token: None }) {
            return Err(StoreError::CodeRevoked);
        }
        let mut tshard = lock(shard_for(&self.tokens, access));
        if let Some(e) = tshard.map.get(access)
            && token_kept(e, now)
        {
            return Err(StoreError::Collision);
        }
        tshard.map.insert(
            *access,
            TokenEntry {
                record: record.clone(),
                revoked: false,
            },
        );
        centry.state = CodeState::Redeemed {
            token: Some(*access),
        };
        tshard.after_insert(|_, e| token_kept(e, now));
        drop(tshard);
        drop(cshard);
        m.refresh.insert(
            *refresh,
            RefreshEntry {
                chain: consent.id,
                issued_at: now,
                retired: false,
            },
        );
        m.by_code.insert(*code, consent.id);
        Self::note_v2(&mut m, access, now);
        m.chains.insert(
            consent.id,
            Chain {
                record: consent.clone(),
                code: *code,
                rotated_at: now,
                revoked: false,
                access: vec![(*access, now)],
                refresh: vec![*refresh],
            },
        );
        Ok(())
    }

    pub(super) fn mem_rotate(
        &self,
        presented: &SecretHash,
        new_access: &SecretHash,
        new_refresh: &SecretHash,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Rotation, StoreError> {
        let mut m = lock_v2(&self.v2);
        let Some(entry) = m.refresh.get(presented) else {
            return Ok(Rotation::Unknown);
        };
        let (chain_id, issued_at, retired) = (entry.chain, entry.issued_at, entry.retired);
        let Some(chain) = m.chains.get(&chain_id) else {
            return Ok(Rotation::Unknown);
        };
        if &chain.record.client_id != client {
            return Ok(Rotation::OtherClient);
        }
        if chain.revoked {
            return Ok(Rotation::Revoked);
        }
        if retired {
            // MedMij OAUTH-19: a retired refresh token presented again is a breach.
            self.revoke_chain(&mut m, &chain_id, now);
            return Ok(Rotation::Replayed);
        }
        if now >= later(issued_at, lifetime) {
            return Ok(Rotation::Expired);
        }
        if new_access == new_refresh
            || m.refresh.contains_key(new_refresh)
            || m.refresh.contains_key(new_access)
            || self.held_elsewhere(new_refresh, now)
        {
            return Err(StoreError::Collision);
        }
        let record = chain.record.clone();
        {
            let mut tshard = lock(shard_for(&self.tokens, new_access));
            if let Some(e) = tshard.map.get(new_access)
                && token_kept(e, now)
            {
                return Err(StoreError::Collision);
            }
            tshard.map.insert(
                *new_access,
                TokenEntry {
                    record: TokenRecord {
                        client_id: record.client_id.clone(),
                        scope: record.scope.clone(),
                        subject: record.subject.clone(),
                        use_case: record.use_case,
                        issued_at: now,
                    },
                    revoked: false,
                },
            );
            tshard.after_insert(|_, e| token_kept(e, now));
        }
        if let Some(e) = m.refresh.get_mut(presented) {
            e.retired = true;
        }
        Self::note_v2(&mut m, new_access, now);
        m.refresh.insert(
            *new_refresh,
            RefreshEntry {
                chain: chain_id,
                issued_at: now,
                retired: false,
            },
        );
        if let Some(chain) = m.chains.get_mut(&chain_id) {
            chain.rotated_at = now;
            chain.access.retain(|(_, at)| now < later(*at, LIFETIME));
            chain.access.push((*new_access, now));
            chain.refresh.push(*new_refresh);
        }
        Ok(Rotation::Rotated(record))
    }

    pub(super) fn mem_revoke_of_code(&self, code: &SecretHash, now: SystemTime) -> bool {
        let mut m = lock_v2(&self.v2);
        match m.by_code.get(code).copied() {
            Some(id) => self.revoke_chain(&mut m, &id, now),
            None => false,
        }
    }

    pub(super) fn mem_consents(
        &self,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Vec<LongLastingConsent> {
        let m = lock_v2(&self.v2);
        let mut out: Vec<LongLastingConsent> = m
            .chains
            .values()
            .filter(|c| {
                !c.revoked
                    && &c.record.subject == subject
                    && &c.record.client_id == client
                    && now < later(c.rotated_at, lifetime)
            })
            .map(|c| LongLastingConsent {
                record: c.record.clone(),
                last_rotation: c.rotated_at,
                expires_at: later(c.rotated_at, lifetime),
            })
            .collect();
        out.sort_by(|a, b| {
            (a.record.granted_at, a.record.id).cmp(&(b.record.granted_at, b.record.id))
        });
        out
    }

    pub(super) fn mem_withdraw(
        &self,
        id: &ConsentId,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
    ) -> bool {
        let mut m = lock_v2(&self.v2);
        let ok = m.chains.get(id).is_some_and(|c| {
            &c.record.subject == subject && &c.record.client_id == client && !c.revoked
        });
        ok && self.revoke_chain(&mut m, id, now)
    }

    pub(super) fn mem_sweep_v2(&self, now: SystemTime, lifetime: Duration) -> usize {
        let mut m = lock_v2(&self.v2);
        let before = m.codes.len() + m.chains.len();
        m.codes
            .retain(|_, (_, at)| now < later(*at, CODE_RETENTION));
        m.codes_kept = m.codes.len();
        let gone: Vec<ConsentId> = m
            .chains
            .iter()
            .filter(|(_, c)| now >= later(c.rotated_at, lifetime))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(c) = m.chains.remove(&id) {
                for h in &c.refresh {
                    m.refresh.remove(h);
                }
                m.by_code.remove(&c.code);
            }
        }
        before - (m.codes.len() + m.chains.len())
    }
}
