//! The token store: codes and access tokens, kept only as SHA-256 hashes (MedMij OAUTH-14),
//! with atomic single-use redemption (OAUTH-8) and expiry (OAUTH-7).

use crate::refresh::{CodeV2, ConsentId, ConsentRecord, LongLastingConsent, Rotation};
use crate::secret::SecretHash;
use crate::{ClientId, Scope, Subject, UseCase};

mod memory_v2;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// The lifetime of every authorization code and access token: exactly 900 seconds from
/// issue (MedMij OAUTH-7).
pub const LIFETIME: Duration = Duration::from_secs(900);

/// How long a retired code is remembered: its own lifetime plus the lifetime of a token
/// issued for it, so that a replay is detected for as long as that token could be valid
/// (MedMij OAUTH-8).
pub const CODE_RETENTION: Duration = Duration::from_secs(1800);

/// `t + d`, or `t` itself if that is not representable (a time the caller got wrong by
/// centuries): the value then counts as expired at once instead of panicking.
pub(crate) fn later(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or(t)
}

/// What the authorization server remembers about an issued code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The client the code was issued to (MedMij OAUTH-9).
    pub client_id: ClientId,
    /// The exact `redirect_uri` of the authorization request (MedMij OAUTH-9).
    pub redirect_uri: std::sync::Arc<str>,
    /// The scope the person consented to (MedMij OAUTH-5).
    pub scope: Scope,
    /// The authenticated person.
    pub subject: Subject,
    /// Verzamelen or Delen.
    pub use_case: UseCase,
    /// When the code was issued.
    pub issued_at: SystemTime,
}

impl CodeRecord {
    /// `issued_at` + 900 s (MedMij OAUTH-7).
    pub fn expires_at(&self) -> SystemTime {
        later(self.issued_at, LIFETIME)
    }
}

/// What the resource server learns from a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// Exactly the consented scope (MedMij OAUTH-5).
    pub scope: Scope,
    /// The person the token stands for (MedMij OAUTH-11).
    pub subject: Subject,
    /// Verzamelen (read) or Delen (write), MedMij OAUTH-13.
    pub use_case: UseCase,
    /// When the token was issued.
    pub issued_at: SystemTime,
}

impl TokenRecord {
    /// `issued_at` + 900 s (MedMij OAUTH-7).
    pub fn expires_at(&self) -> SystemTime {
        later(self.issued_at, LIFETIME)
    }
}

/// The result of presenting a code ([`TokenStore::redeem_code`]). Whatever the result, the
/// code is retired by the call (MedMij OAUTH-8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Redemption {
    /// First presentation of a valid code: here is what it was issued for.
    Fresh(CodeRecord),
    /// First presentation, but after its 900 s ran out (MedMij OAUTH-7).
    Expired,
    /// The code was presented before: a breach. Any token issued for it has been revoked
    /// (`token_revoked` says whether there was one), MedMij OAUTH-8.
    Replayed {
        /// True if a still-valid token issued for this code was revoked by this call.
        token_revoked: bool,
    },
    /// No such code (never issued, or forgotten after [`CODE_RETENTION`]).
    Unknown,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The hash is already held by a code or token that is still kept (MedMij OAUTH-6): draw again.
    #[error("collision with a code or token in circulation (MedMij OAUTH-6)")]
    Collision,
    /// The code was replayed (or forgotten) before its token could be stored; the token
    /// must not be issued (MedMij OAUTH-8).
    #[error("the code was revoked before its token was stored (MedMij OAUTH-8)")]
    CodeRevoked,
    /// The storage backend failed.
    #[error("token store backend: {0}")]
    Backend(String),
    /// The store does not implement the 2.x operations (MedMij OAUTH-19).
    #[error("this token store does not support release 2.x (MedMij OAUTH-19)")]
    Unsupported,
}

/// Storage for codes and tokens. All methods are atomic with respect to each other:
/// implementations serve several threads (and, for a database, several gateway nodes).
///
/// Keys are [`SecretHash`]es: a store never sees a code or token in clear (MedMij OAUTH-14).
pub trait TokenStore {
    /// Stores a new code unless the hash is held by a code that is still kept (issued less
    /// than [`CODE_RETENTION`] ago), in which case it returns [`StoreError::Collision`]
    /// (MedMij OAUTH-6).
    fn insert_code(
        &self,
        hash: &SecretHash,
        record: &CodeRecord,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Presents a code: atomically retires it and says what it was (MedMij OAUTH-8). A
    /// second presentation revokes the token issued for it. A code issued
    /// [`CODE_RETENTION`] or longer ago is [`Redemption::Unknown`], whether swept or not.
    fn redeem_code(&self, hash: &SecretHash, now: SystemTime) -> Result<Redemption, StoreError>;

    /// Stores a token issued for the code `code`, unless its hash collides with a valid
    /// token ([`StoreError::Collision`], MedMij OAUTH-6) or the code has been replayed in
    /// the meantime ([`StoreError::CodeRevoked`], OAUTH-8).
    fn insert_token(
        &self,
        hash: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// The record of a token that is neither expired (MedMij OAUTH-7) nor revoked (OAUTH-8).
    fn lookup_token(
        &self,
        hash: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// Removes tokens past their lifetime and codes past [`CODE_RETENTION`]; returns how many.
    fn sweep(&self, now: SystemTime) -> Result<usize, StoreError>;

    /// 2.x: stores what the token endpoint must know of a 2.x code (MedMij OAUTH-19,
    /// OAUTH-20, OAUTH-21), right after [`TokenStore::insert_code`]. A store without 2.x
    /// support answers [`StoreError::Unsupported`], so a 2.x flow cannot be issued a code it
    /// could not honour.
    fn insert_code_v2(
        &self,
        code: &SecretHash,
        v2: &CodeV2,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let _ = (code, v2, now);
        Err(StoreError::Unsupported)
    }

    /// 2.x: the [`CodeV2`] of a code, `None` for a 1.x code (and in stores without 2.x).
    fn code_v2(&self, code: &SecretHash, now: SystemTime) -> Result<Option<CodeV2>, StoreError> {
        let _ = (code, now);
        Ok(None)
    }

    /// 2.x: like [`TokenStore::insert_token`], and in the same atomic step opens the
    /// long-lasting consent `consent` with its first refresh token `refresh` (MedMij
    /// OAUTH-19). A collision of either hash with any kept code, access or refresh token is
    /// [`StoreError::Collision`] and changes nothing (OAUTH-6).
    fn insert_token_with_refresh(
        &self,
        access: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        refresh: &SecretHash,
        consent: &ConsentRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let _ = (access, record, code, refresh, consent, now);
        Err(StoreError::Unsupported)
    }

    /// 2.x: presents a refresh token for `client` (MedMij OAUTH-19). Atomically: a valid
    /// token (issued less than `lifetime` ago, not retired, chain not revoked) is retired and
    /// `new_access` (900 s) and `new_refresh` are stored for the same consent; a retired one
    /// revokes the whole chain (every access and refresh token of the consent). A collision of
    /// a new hash is [`StoreError::Collision`] and changes nothing (OAUTH-6).
    fn rotate_refresh(
        &self,
        presented: &SecretHash,
        new_access: &SecretHash,
        new_refresh: &SecretHash,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Rotation, StoreError> {
        let _ = (presented, new_access, new_refresh, client, now, lifetime);
        Ok(Rotation::Unknown)
    }

    /// 2.x: revokes the chain opened with the code `code`, if any (a replayed code, MedMij
    /// OAUTH-8). True if there was a chain not yet revoked.
    fn revoke_consent_of_code(
        &self,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let _ = (code, now);
        Ok(false)
    }

    /// 2.x: the person's long-lasting consents for this client that have neither lapsed nor
    /// been revoked (MedMij OAUTH-22).
    fn long_lasting_consents(
        &self,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<LongLastingConsent>, StoreError> {
        let _ = (subject, client, now, lifetime);
        Ok(Vec::new())
    }

    /// 2.x: withdraws the consent `id` of this person and client: revokes its whole chain
    /// (MedMij OAUTH-22). True if it was in force.
    fn withdraw_consent(
        &self,
        id: &ConsentId,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let _ = (id, subject, client, now);
        Ok(false)
    }

    /// 2.x: marks an access token as issued in a 2.x flow, so that a resource request
    /// without tracing identifiers is refused for it (MedMij OAUTH-21). Tokens of a
    /// long-lasting consent are 2.x without this call.
    fn mark_token_v2(&self, access: &SecretHash, now: SystemTime) -> Result<(), StoreError> {
        let _ = (access, now);
        Ok(())
    }

    /// 2.x: true if the access token belongs to a 2.x flow (MedMij OAUTH-21).
    fn token_is_v2(&self, access: &SecretHash, now: SystemTime) -> Result<bool, StoreError> {
        let _ = (access, now);
        Ok(false)
    }

    /// 2.x: forgets 2.x code data past [`CODE_RETENTION`] and chains lapsed for `lifetime`;
    /// returns how many entries went.
    fn sweep_v2(&self, now: SystemTime, lifetime: Duration) -> Result<usize, StoreError> {
        let _ = (now, lifetime);
        Ok(0)
    }
}

macro_rules! forward_store {
    ($($t:tt)*) => {
        impl<T: TokenStore + ?Sized> TokenStore for $($t)* {
            fn insert_code(&self, hash: &SecretHash, record: &CodeRecord, now: SystemTime) -> Result<(), StoreError> {
                (**self).insert_code(hash, record, now)
            }
            fn redeem_code(&self, hash: &SecretHash, now: SystemTime) -> Result<Redemption, StoreError> {
                (**self).redeem_code(hash, now)
            }
            fn insert_token(&self, hash: &SecretHash, record: &TokenRecord, code: &SecretHash, now: SystemTime) -> Result<(), StoreError> {
                (**self).insert_token(hash, record, code, now)
            }
            fn lookup_token(&self, hash: &SecretHash, now: SystemTime) -> Result<Option<TokenRecord>, StoreError> {
                (**self).lookup_token(hash, now)
            }
            fn sweep(&self, now: SystemTime) -> Result<usize, StoreError> {
                (**self).sweep(now)
            }
            fn insert_code_v2(&self, code: &SecretHash, v2: &CodeV2, now: SystemTime) -> Result<(), StoreError> {
                (**self).insert_code_v2(code, v2, now)
            }
            fn code_v2(&self, code: &SecretHash, now: SystemTime) -> Result<Option<CodeV2>, StoreError> {
                (**self).code_v2(code, now)
            }
            fn insert_token_with_refresh(&self, access: &SecretHash, record: &TokenRecord, code: &SecretHash, refresh: &SecretHash, consent: &ConsentRecord, now: SystemTime) -> Result<(), StoreError> {
                (**self).insert_token_with_refresh(access, record, code, refresh, consent, now)
            }
            fn rotate_refresh(&self, presented: &SecretHash, new_access: &SecretHash, new_refresh: &SecretHash, client: &ClientId, now: SystemTime, lifetime: Duration) -> Result<Rotation, StoreError> {
                (**self).rotate_refresh(presented, new_access, new_refresh, client, now, lifetime)
            }
            fn revoke_consent_of_code(&self, code: &SecretHash, now: SystemTime) -> Result<bool, StoreError> {
                (**self).revoke_consent_of_code(code, now)
            }
            fn long_lasting_consents(&self, subject: &Subject, client: &ClientId, now: SystemTime, lifetime: Duration) -> Result<Vec<LongLastingConsent>, StoreError> {
                (**self).long_lasting_consents(subject, client, now, lifetime)
            }
            fn withdraw_consent(&self, id: &ConsentId, subject: &Subject, client: &ClientId, now: SystemTime) -> Result<bool, StoreError> {
                (**self).withdraw_consent(id, subject, client, now)
            }
            fn sweep_v2(&self, now: SystemTime, lifetime: Duration) -> Result<usize, StoreError> {
                (**self).sweep_v2(now, lifetime)
            }
            fn mark_token_v2(&self, access: &SecretHash, now: SystemTime) -> Result<(), StoreError> {
                (**self).mark_token_v2(access, now)
            }
            fn token_is_v2(&self, access: &SecretHash, now: SystemTime) -> Result<bool, StoreError> {
                (**self).token_is_v2(access, now)
            }
        }
    };
}
forward_store!(&T);
forward_store!(std::sync::Arc<T>);
forward_store!(Box<T>);

/// The keys are SHA-256 outputs of CSPRNG values, so no attacker chooses them: `rustc-hash`'s
/// Fx hash is enough (SipHash guards against chosen keys). Byte 0 picks the shard.
type Map<E> = HashMap<SecretHash, E, rustc_hash::FxBuildHasher>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeState {
    Issued,
    Redeemed { token: Option<SecretHash> },
    Breached,
}

struct CodeEntry {
    /// When the code was issued: decides how long the entry is kept.
    issued_at: SystemTime,
    /// What the code was issued for, until its first presentation takes it out: after that the
    /// entry only tells a replay (MedMij OAUTH-8), and the record's shared parts are released
    /// at once instead of when the entry is swept, [`CODE_RETENTION`] later. Boxed, so that the
    /// entries kept for that half hour are small (the map is most of the store's memory).
    record: Option<Box<CodeRecord>>,
    state: CodeState,
}

struct TokenEntry {
    record: TokenRecord,
    revoked: bool,
}

struct Shard<E> {
    map: Map<E>,
    /// Inserts since the last sweep of this shard.
    inserts: usize,
    /// Entries left after the last sweep.
    kept: usize,
}

impl<E> Default for Shard<E> {
    fn default() -> Self {
        Self {
            map: Map::default(),
            inserts: 0,
            kept: 0,
        }
    }
}

impl<E> Shard<E> {
    /// Counts an insert and sweeps the shard once as many inserts happened since the last
    /// sweep as entries were left by it (at least [`MIN_SWEEP`]): each sweep's cost is paid for
    /// by as many inserts, so sweeping is amortised O(1) per insert, and the shard holds at
    /// most about twice its live entries plus [`MIN_SWEEP`].
    fn after_insert(&mut self, keep: impl FnMut(&SecretHash, &mut E) -> bool) {
        self.inserts += 1;
        if self.inserts >= self.kept.max(MIN_SWEEP) {
            self.map.retain(keep);
            self.kept = self.map.len();
            self.inserts = 0;
        }
    }
}

const SHARDS: usize = 64;
/// The fewest inserts into a shard between two of its sweeps.
const MIN_SWEEP: usize = 64;

/// The in-memory token store: concurrent (64 shards, each behind its own lock, chosen by
/// hash), expired entries swept as it goes (amortised O(1) per insert, see below) and on
/// [`TokenStore::sweep`].
///
/// A shard is swept when it has seen as many inserts since its last sweep as entries that
/// sweep left (at least 64), so it never holds more than about twice its live entries.
///
/// One process only: gateways with several nodes use a shared store such as the PostgreSQL
/// one (feature `postgres`).
pub struct MemoryStore {
    codes: Box<[Mutex<Shard<CodeEntry>>; SHARDS]>,
    tokens: Box<[Mutex<Shard<TokenEntry>>; SHARDS]>,
    /// The 2.x state (code data, refresh tokens, chains). Lock order: this, then a code
    /// shard, then a token shard.
    v2: Mutex<memory_v2::V2Mem>,
    /// Set (for good) once any 2.x code data or 2.x access token is stored: until then the
    /// 1.x token and resource paths answer "not 2.x" without taking the `v2` lock.
    v2_used: std::sync::atomic::AtomicBool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

fn lock<E>(m: &Mutex<Shard<E>>) -> MutexGuard<'_, Shard<E>> {
    // A panic while holding the lock cannot leave a shard half-updated (every update is a
    // single map operation), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn shard_of(hash: &SecretHash) -> usize {
    usize::from(hash.as_bytes()[0]) % SHARDS
}

/// The shard of `hash` among `shards` (the bounds check folds away: `shard_of` is below
/// `SHARDS`).
pub(crate) fn shard_for<'s, T>(shards: &'s [T; SHARDS], hash: &SecretHash) -> &'s T {
    let [first, ..] = shards;
    shards.get(shard_of(hash)).unwrap_or(first)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            codes: Box::new(std::array::from_fn(|_| Mutex::default())),
            tokens: Box::new(std::array::from_fn(|_| Mutex::default())),
            v2: Mutex::default(),
            v2_used: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Number of codes and tokens currently kept (including retired codes still remembered
    /// for replay detection). For tests and metrics.
    pub fn len(&self) -> (usize, usize) {
        let c = self.codes.iter().map(|s| lock(s).map.len()).sum();
        let t = self.tokens.iter().map(|s| lock(s).map.len()).sum();
        (c, t)
    }

    /// True if the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

fn code_kept(e: &CodeEntry, now: SystemTime) -> bool {
    now < later(e.issued_at, CODE_RETENTION)
}

fn token_kept(e: &TokenEntry, now: SystemTime) -> bool {
    now < e.record.expires_at()
}

impl TokenStore for MemoryStore {
    fn insert_code(
        &self,
        hash: &SecretHash,
        record: &CodeRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut shard = lock(shard_for(&self.codes, hash));
        if let Some(e) = shard.map.get(hash)
            && code_kept(e, now)
        {
            return Err(StoreError::Collision);
        }
        shard.map.insert(
            *hash,
            CodeEntry {
                issued_at: record.issued_at,
                record: Some(Box::new(record.clone())),
                state: CodeState::Issued,
            },
        );
        shard.after_insert(|_, e| code_kept(e, now));
        Ok(())
    }

    fn redeem_code(&self, hash: &SecretHash, now: SystemTime) -> Result<Redemption, StoreError> {
        let mut shard = lock(shard_for(&self.codes, hash));
        let Some(entry) = shard.map.get_mut(hash) else {
            return Ok(Redemption::Unknown);
        };
        if !code_kept(entry, now) {
            // Past CODE_RETENTION the code is forgotten, swept or not.
            shard.map.remove(hash);
            return Ok(Redemption::Unknown);
        }
        match entry.state {
            CodeState::Issued => {
                entry.state = CodeState::Redeemed { token: None };
                // An issued code always has its record; without one it could not be honoured.
                match entry.record.take() {
                    Some(record) if now < record.expires_at() => Ok(Redemption::Fresh(*record)),
                    _ => Ok(Redemption::Expired),
                }
            }
            CodeState::Redeemed { token } => {
                entry.state = CodeState::Breached;
                let mut token_revoked = false;
                if let Some(t) = token {
                    // Lock order: code shard, then token shard (as in insert_token).
                    let mut tshard = lock(shard_for(&self.tokens, &t));
                    if let Some(te) = tshard.map.get_mut(&t)
                        && !te.revoked
                        && token_kept(te, now)
                    {
                        te.revoked = true;
                        token_revoked = true;
                    }
                }
                Ok(Redemption::Replayed { token_revoked })
            }
            CodeState::Breached => Ok(Redemption::Replayed {
                token_revoked: false,
            }),
        }
    }

    fn insert_token(
        &self,
        hash: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut cshard = lock(shard_for(&self.codes, code));
        let Some(centry) = cshard.map.get_mut(code) else {
            return Err(StoreError::CodeRevoked);
        };
        if centry.state != (CodeState::Redeemed { token: None }) {
            return Err(StoreError::CodeRevoked);
        }
        let mut tshard = lock(shard_for(&self.tokens, hash));
        if let Some(e) = tshard.map.get(hash)
            && token_kept(e, now)
        {
            return Err(StoreError::Collision);
        }
        tshard.map.insert(
            *hash,
            TokenEntry {
                record: record.clone(),
                revoked: false,
            },
        );
        centry.state = CodeState::Redeemed { token: Some(*hash) };
        tshard.after_insert(|_, e| token_kept(e, now));
        Ok(())
    }

    fn lookup_token(
        &self,
        hash: &SecretHash,
        now: SystemTime,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let shard = lock(shard_for(&self.tokens, hash));
        Ok(shard
            .map
            .get(hash)
            .filter(|e| !e.revoked && token_kept(e, now))
            .map(|e| e.record.clone()))
    }

    fn sweep(&self, now: SystemTime) -> Result<usize, StoreError> {
        let mut removed = 0;
        for s in self.codes.iter() {
            let mut s = lock(s);
            let before = s.map.len();
            s.map.retain(|_, e| code_kept(e, now));
            removed += before - s.map.len();
        }
        for s in self.tokens.iter() {
            let mut s = lock(s);
            let before = s.map.len();
            s.map.retain(|_, e| token_kept(e, now));
            removed += before - s.map.len();
        }
        Ok(removed)
    }

    fn insert_code_v2(
        &self,
        code: &SecretHash,
        v2: &CodeV2,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.mem_insert_code_v2(code, v2, now)
    }

    fn code_v2(&self, code: &SecretHash, now: SystemTime) -> Result<Option<CodeV2>, StoreError> {
        self.mem_code_v2(code, now)
    }

    fn insert_token_with_refresh(
        &self,
        access: &SecretHash,
        record: &TokenRecord,
        code: &SecretHash,
        refresh: &SecretHash,
        consent: &ConsentRecord,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.mem_insert_token_with_refresh(access, record, code, refresh, consent, now)
    }

    fn rotate_refresh(
        &self,
        presented: &SecretHash,
        new_access: &SecretHash,
        new_refresh: &SecretHash,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Rotation, StoreError> {
        self.mem_rotate(presented, new_access, new_refresh, client, now, lifetime)
    }

    fn revoke_consent_of_code(
        &self,
        code: &SecretHash,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        Ok(self.mem_revoke_of_code(code, now))
    }

    fn long_lasting_consents(
        &self,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<LongLastingConsent>, StoreError> {
        Ok(self.mem_consents(subject, client, now, lifetime))
    }

    fn withdraw_consent(
        &self,
        id: &ConsentId,
        subject: &Subject,
        client: &ClientId,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        Ok(self.mem_withdraw(id, subject, client, now))
    }

    fn sweep_v2(&self, now: SystemTime, lifetime: Duration) -> Result<usize, StoreError> {
        Ok(self.mem_sweep_v2(now, lifetime))
    }

    fn mark_token_v2(&self, access: &SecretHash, now: SystemTime) -> Result<(), StoreError> {
        self.mem_mark_v2(access, now);
        Ok(())
    }

    fn token_is_v2(&self, access: &SecretHash, now: SystemTime) -> Result<bool, StoreError> {
        Ok(self.mem_is_v2(access, now))
    }
}
