//! Deterministic data generators for the medmij-rs benchmarks.
//!
//! `generate_zal(50_000, seed)` writes a Zorgaanbiederslijst of about
//! 110 MB: 50,000 Zorgaanbieders with 1 to 4 Gegevensdiensten each and 1 to
//! 3 Systeemrollen per Gegevensdienst, laid out like the published lists
//! (one space of indentation per level). The same seed gives the same bytes.

use std::fmt::Write;

/// A small deterministic generator (SplitMix64), so the data does not depend
/// on a crate's random algorithm across versions.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// The lowercase letters of a provider name for number `i` (unique per i).
pub fn provider_letters(i: usize) -> String {
    let mut s = String::from("zorg");
    let mut n = i;
    loop {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s
}

/// A ZAL with `providers` Zorgaanbieders.
pub fn generate_zal(providers: usize, seed: u64) -> String {
    let mut rng = SplitMix::new(seed);
    let mut out = String::with_capacity(providers * 2300);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<Zorgaanbiederslijst xmlns=\"xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/\">\n");
    out.push_str(" <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>\n");
    out.push_str(" <Volgnummer>50000</Volgnummer>\n");
    out.push_str(" <Zorgaanbieders>\n");
    for i in 0..providers {
        let letters = provider_letters(i);
        let host = format!("{letters}.xis.nl");
        let _ = write!(
            out,
            "  <Zorgaanbieder>\n   <Zorgaanbiedernaam>{letters}@medmij</Zorgaanbiedernaam>\n   <Gegevensdiensten>\n"
        );
        for g in 0..rng.range(1, 4) {
            let id = 2 * g + rng.range(1, 2) * (1 + g % 2);
            let port = rng.range(1024, 65535);
            let _ = write!(
                out,
                "    <Gegevensdienst>\n     <GegevensdienstId>{id}{g}</GegevensdienstId>\n     <AuthorizationEndpoint>\n      <AuthorizationEndpointuri>https://{host}/oauth/authorize</AuthorizationEndpointuri>\n     </AuthorizationEndpoint>\n     <TokenEndpoint>\n      <TokenEndpointuri>https://{host}:{port}/oauth/token</TokenEndpointuri>\n     </TokenEndpoint>\n     <Systeemrollen>\n"
            );
            for r in 0..rng.range(1, 3) {
                let _ = write!(
                    out,
                    "      <Systeemrol>\n       <Systeemrolcode>MM-{g}.{r}.0-LRB-FHIR</Systeemrolcode>\n       <ResourceEndpoint>\n        <ResourceEndpointuri>https://{host}:{port}/fhir/r{r}</ResourceEndpointuri>\n       </ResourceEndpoint>\n      </Systeemrol>\n"
                );
            }
            out.push_str("     </Systeemrollen>\n    </Gegevensdienst>\n");
        }
        out.push_str("   </Gegevensdiensten>\n  </Zorgaanbieder>\n");
    }
    out.push_str(" </Zorgaanbieders>\n</Zorgaanbiederslijst>\n");
    out
}

/// A Whitelist with `nodes` hostnames.
pub fn generate_whl(nodes: usize) -> String {
    let mut out = String::with_capacity(nodes * 80);
    out.push_str("<Whitelist xmlns=\"xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/\">\n    <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>\n    <Volgnummer>1</Volgnummer>\n    <MedMijNodes>\n");
    for i in 0..nodes {
        let _ = writeln!(
            out,
            "        <MedMijNode><Hostname>node{i}.{}.example.nl</Hostname></MedMijNode>",
            provider_letters(i)
        );
    }
    out.push_str("    </MedMijNodes>\n</Whitelist>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_lists_are_valid_and_deterministic() {
        let zal = generate_zal(300, 7);
        assert_eq!(zal, generate_zal(300, 7));
        let list = medmij_lists::Zorgaanbiederslijst::from_bytes(zal.as_bytes()).unwrap();
        assert_eq!(list.len(), 300);
        let per: Vec<usize> = list
            .zorgaanbieders()
            .iter()
            .map(|z| z.gegevensdiensten().count())
            .collect();
        assert!(per.iter().all(|n| (1..=4).contains(n)));
        assert!(per.contains(&1) && per.contains(&4));
        let whl = medmij_lists::Whitelist::from_bytes(generate_whl(500).as_bytes()).unwrap();
        assert_eq!(whl.len(), 500);
    }
}
