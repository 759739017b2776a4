//! Finite-field Diffie-Hellman (RFC 7919 groups ffdhe3072 and ffdhe4096) for the
//! front channel, where the NCSC TLS guidelines rate DHE "sufficient" (MedMij
//! TLS-1). rustls' `ring` provider has no FFDHE; the arithmetic here is
//! crypto-bigint's constant-time Montgomery exponentiation. Never offered on the
//! back channel ("good" only).

use std::fmt;

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, Uint};
use ring::rand::SecureRandom;
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{Error, NamedGroup, PeerMisbehaved};

/// Bits of the private exponent: at least twice the groups' security strength
/// (RFC 7919 section 5.2 asks for at least 275 bits for ffdhe3072 and 325 for
/// ffdhe4096).
const EXP_BITS: u32 = 384;
const EXP_LIMBS: usize = 384 / 64;

/// An RFC 7919 group over `LIMBS` 64-bit limbs.
pub struct Ffdhe<const LIMBS: usize> {
    name: NamedGroup,
    group: FfdheGroup<'static>,
}

impl<const LIMBS: usize> fmt::Debug for Ffdhe<LIMBS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.name)
    }
}

/// ffdhe3072 (RFC 7919 appendix A.2).
pub static FFDHE3072: &dyn SupportedKxGroup = &Ffdhe::<48> {
    name: NamedGroup::FFDHE3072,
    group: rustls::ffdhe_groups::FFDHE3072,
};

/// ffdhe4096 (RFC 7919 appendix A.3).
pub static FFDHE4096: &dyn SupportedKxGroup = &Ffdhe::<64> {
    name: NamedGroup::FFDHE4096,
    group: rustls::ffdhe_groups::FFDHE4096,
};

fn be_to_uint<const L: usize>(b: &[u8]) -> Option<Uint<L>> {
    let b = &b[b.iter().take_while(|x| **x == 0).count()..];
    if b.len() > L * 8 {
        return None;
    }
    let mut padded = vec![0u8; L * 8];
    padded[L * 8 - b.len()..].copy_from_slice(b);
    Some(Uint::from_be_slice(&padded))
}

/// Big-endian, left-padded to `len` bytes (the length of p, RFC 7919 section 3).
fn uint_to_be<const L: usize>(u: &Uint<L>, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(L * 8);
    for w in u.as_words().iter().rev() {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out.split_off(out.len().saturating_sub(len))
}

struct Params<const L: usize> {
    p: Uint<L>,
    monty: FixedMontyParams<L>,
}

impl<const LIMBS: usize> Ffdhe<LIMBS> {
    fn params(&self) -> Result<Params<LIMBS>, Error> {
        let p = be_to_uint::<LIMBS>(self.group.p)
            .ok_or_else(|| Error::General("FFDHE prime too large".into()))?;
        let odd = Odd::new(p)
            .into_option()
            .ok_or_else(|| Error::General("FFDHE prime is even".into()))?;
        Ok(Params {
            p,
            monty: FixedMontyParams::new_vartime(odd),
        })
    }
}

impl<const LIMBS: usize> SupportedKxGroup for Ffdhe<LIMBS> {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let params = self.params()?;
        let mut xb = [0u8; EXP_LIMBS * 8];
        ring::rand::SystemRandom::new()
            .fill(&mut xb)
            .map_err(|_| Error::FailedToGetRandomBytes)?;
        let x = Uint::<EXP_LIMBS>::from_be_slice(&xb);
        let g = be_to_uint::<LIMBS>(self.group.g)
            .ok_or_else(|| Error::General("FFDHE generator too large".into()))?;
        let y = FixedMontyForm::new(&g, &params.monty)
            .pow_bounded_exp(&x, EXP_BITS)
            .retrieve();
        let pub_key = uint_to_be(&y, self.group.p.len());
        Ok(Box::new(Active::<LIMBS> {
            name: self.name,
            group: self.group,
            params,
            x,
            pub_key,
        }))
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        Some(self.group)
    }

    fn name(&self) -> NamedGroup {
        self.name
    }
}

struct Active<const LIMBS: usize> {
    name: NamedGroup,
    group: FfdheGroup<'static>,
    params: Params<LIMBS>,
    x: Uint<EXP_LIMBS>,
    pub_key: Vec<u8>,
}

impl<const LIMBS: usize> Drop for Active<LIMBS> {
    fn drop(&mut self) {
        crypto_bigint::zeroize::Zeroize::zeroize(&mut self.x);
    }
}

impl<const LIMBS: usize> ActiveKeyExchange for Active<LIMBS> {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        let bad = || Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare);
        if peer_pub_key.len() > self.group.p.len() {
            return Err(bad());
        }
        let y = be_to_uint::<LIMBS>(peer_pub_key).ok_or_else(bad)?;
        // RFC 7919 section 5.1: 1 < y < p - 1.
        let p_minus_1 = self.params.p.wrapping_sub(&Uint::ONE);
        if y.cmp_vartime(&Uint::ONE).is_le() || y.cmp_vartime(&p_minus_1).is_ge() {
            return Err(bad());
        }
        let z = FixedMontyForm::new(&y, &self.params.monty)
            .pow_bounded_exp(&self.x, EXP_BITS)
            .retrieve();
        Ok(SharedSecret::from(uint_to_be(&z, self.group.p.len())))
    }

    fn pub_key(&self) -> &[u8] {
        &self.pub_key
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        Some(self.group)
    }

    fn group(&self) -> NamedGroup {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_and_bad_shares_are_refused() {
        for g in [FFDHE3072, FFDHE4096] {
            let len = g.ffdhe_group().unwrap().p.len();
            assert_eq!(g.start().unwrap().pub_key().len(), len);

            // Same pair, both ways.
            let a = g.start().unwrap();
            let b = g.start().unwrap();
            let (ap, bp) = (a.pub_key().to_vec(), b.pub_key().to_vec());
            let za = a.complete(&bp).unwrap();
            let zb = b.complete(&ap).unwrap();
            assert_eq!(za.secret_bytes(), zb.secret_bytes());

            // RFC 7919 5.1: 0, 1, p-1 and too-long values are refused.
            let p = g.ffdhe_group().unwrap().p.to_vec();
            let mut p_minus_1 = p.clone();
            *p_minus_1.last_mut().unwrap() -= 1;
            for bad in [
                vec![0u8],
                vec![1u8],
                p_minus_1,
                p.clone(),
                vec![1u8; p.len() + 1],
            ] {
                assert!(g.start().unwrap().complete(&bad).is_err());
            }
        }
    }
}
