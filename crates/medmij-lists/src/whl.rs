//! The Whitelist (WHL): the MedMij nodes every gateway admits on the
//! network layer (MedMij LISTS-6, TLS-4).

use crate::ModelError;
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::xml::{Builder, ElemDecl, ElemId, Fault, Particle, Schema, unique, value};
use medmij_types::Hostname;
use medmij_types::RuleId;
use medmij_types::{Tijdstempel, Volgnummer};

release_enum! {
    /// The releases of the Whitelist this crate reads.
    WhlRelease {
        /// Release 2, namespace
        /// `xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/`.
        Release2 => ("xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/", SCHEMA_R2),
    }
}

/// The Whitelist: the hostnames of all MedMij nodes (LISTS-6). Every
/// gateway checks its peers against it at every handshake (TLS-4).
///
/// ```
/// use medmij_lists::Whitelist;
/// let xml = br#"<Whitelist xmlns="xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/">
///   <Tijdstempel>2026-11-22T10:00:00+01:00</Tijdstempel><Volgnummer>28654</Volgnummer>
///   <MedMijNodes><MedMijNode><Hostname>medmij.za.example.nl</Hostname></MedMijNode></MedMijNodes>
/// </Whitelist>"#;
/// let whl = Whitelist::from_bytes(xml).unwrap();
/// assert!(whl.contains("MEDMIJ.za.example.nl"));
/// assert!(!whl.contains("evil.example.nl"));
/// ```
#[derive(Debug, Clone)]
pub struct Whitelist {
    release: WhlRelease,
    tijdstempel: Tijdstempel,
    volgnummer: Volgnummer,
    nodes: Vec<Hostname>,
    index: Index,
}

impl Whitelist {
    /// A Whitelist from its parts; refuses duplicate hostnames (LISTS-6).
    pub fn new(
        release: WhlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        nodes: Vec<Hostname>,
    ) -> Result<Self, ModelError> {
        crate::unique_keys("Hostname", RuleId::Lists6, nodes.iter().map(|n| n.as_str()))?;
        Ok(Self::assemble(release, tijdstempel, volgnummer, nodes))
    }

    fn assemble(
        release: WhlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        nodes: Vec<Hostname>,
    ) -> Self {
        let index = Index::build(&nodes, true, Hostname::as_str);
        Self {
            release,
            tijdstempel,
            volgnummer,
            nodes,
            index,
        }
    }

    /// All node hostnames in list order.
    pub fn nodes(&self) -> &[Hostname] {
        &self.nodes
    }
    /// Whether `host` is on the Whitelist, compared ASCII
    /// case-insensitively (DNS names from certificates may use any case).
    /// Does not allocate.
    pub fn contains(&self, host: &str) -> bool {
        let n = &self.nodes;
        self.index.get(n, host, Hostname::as_str).is_some()
    }

    /// Serializes the list as XML in its release's namespace.
    pub fn to_xml(&self) -> String {
        const ROOT: &str = "Whitelist";
        let mut w = XmlOut::new(ROOT, self.release.namespace());
        w.leaf("Tijdstempel", self.tijdstempel.as_str());
        w.leaf("Volgnummer", self.volgnummer.as_str());
        w.open("MedMijNodes");
        for n in &self.nodes {
            w.open("MedMijNode");
            w.leaf("Hostname", n.as_str());
            w.close("MedMijNode");
        }
        w.close("MedMijNodes");
        w.finish(ROOT)
    }
}

const TIJDSTEMPEL: ElemId = 1;
const VOLGNUMMER: ElemId = 2;
const NODES: ElemId = 3;
const NODE: ElemId = 4;
const HOSTNAME: ElemId = 5;

/// MedMij LISTS-6: the Whitelist content model.
static SCHEMA_R2: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/",
    rule: RuleId::Lists6,
    elems: &[
        ElemDecl::complex(
            "Whitelist",
            &[
                Particle::one(TIJDSTEMPEL),
                Particle::one(VOLGNUMMER),
                Particle::one(NODES),
            ],
        ),
        ElemDecl::simple("Tijdstempel"),
        ElemDecl::simple("Volgnummer"),
        ElemDecl::complex("MedMijNodes", &[Particle::many(NODE, 0)]),
        ElemDecl::complex("MedMijNode", &[Particle::one(HOSTNAME)]),
        ElemDecl::simple("Hostname"),
    ],
};

#[derive(Default)]
struct WhlBuilder {
    tijdstempel: Option<Tijdstempel>,
    volgnummer: Option<Volgnummer>,
    nodes: Vec<Hostname>,
    hosts: KeySet,
}

impl Builder for WhlBuilder {
    fn start(&mut self, _elem: ElemId, _offset: usize) {}

    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault> {
        match elem {
            TIJDSTEMPEL => value(Tijdstempel::new(text)).map(|v| self.tijdstempel = Some(v)),
            VOLGNUMMER => value(Volgnummer::new(text)).map(|v| self.volgnummer = Some(v)),
            HOSTNAME => {
                let h = value(Hostname::new(text))?;
                // MedMij LISTS-6: Hostname unique in the Whitelist.
                unique(&mut self.hosts, h.as_str(), offset, RuleId::Lists6)?;
                self.nodes.push(h);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn end(&mut self, _elem: ElemId) -> Result<(), Fault> {
        Ok(())
    }
}

list_common!(Whitelist, WhlRelease, WhlBuilder, nodes, "Whitelist");
