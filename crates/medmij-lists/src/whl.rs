//! The Whitelist (WHL): the MedMij nodes every gateway admits on the
//! network layer (MedMij LISTS-6, TLS-4).

use crate::error::{InvalidValue, ParseErrors};
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::types::Hostname;
use crate::value::{Tijdstempel, Volgnummer};
use crate::xml::{Builder, Content, ElemDecl, ElemId, Fault, Particle, Schema};
use crate::{ModelError, ParseOptions};

/// The releases of the Whitelist this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WhlRelease {
    /// Release 2, namespace
    /// `xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/`.
    Release2,
}

impl WhlRelease {
    /// Every supported release.
    pub const ALL: &'static [WhlRelease] = &[WhlRelease::Release2];

    /// The XML namespace of this release.
    pub fn namespace(self) -> &'static str {
        match self {
            WhlRelease::Release2 => "xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/",
        }
    }

    pub(crate) fn schema(self) -> &'static Schema {
        match self {
            WhlRelease::Release2 => &SCHEMA_R2,
        }
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

impl PartialEq for Whitelist {
    fn eq(&self, other: &Self) -> bool {
        self.release == other.release
            && self.tijdstempel == other.tijdstempel
            && self.volgnummer == other.volgnummer
            && self.nodes == other.nodes
    }
}
impl Eq for Whitelist {}

impl Whitelist {
    /// A Whitelist from its parts; refuses duplicate hostnames (LISTS-6).
    pub fn new(
        release: WhlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        nodes: Vec<Hostname>,
    ) -> Result<Self, ModelError> {
        let mut seen = KeySet::default();
        for n in &nodes {
            if seen.insert(n.as_str(), 0).is_some() {
                return Err(ModelError::Duplicate {
                    element: "Hostname",
                    value: n.to_string(),
                    rule: "LISTS-6",
                });
            }
        }
        Ok(Self::assemble(release, tijdstempel, volgnummer, nodes))
    }

    fn assemble(
        release: WhlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        nodes: Vec<Hostname>,
    ) -> Self {
        let index = Index::build(nodes.len(), true, |i| nodes[i].as_str());
        Whitelist {
            release,
            tijdstempel,
            volgnummer,
            nodes,
            index,
        }
    }

    /// Parses and fully validates a Whitelist with the default
    /// [`ParseOptions`].
    pub fn from_bytes(input: &[u8]) -> Result<Self, ParseErrors> {
        Self::from_bytes_with(input, &ParseOptions::default())
    }

    /// Parses and fully validates a Whitelist.
    pub fn from_bytes_with(input: &[u8], opts: &ParseOptions) -> Result<Self, ParseErrors> {
        let (driver, root) = crate::xml::Driver::new(input, opts)?;
        Self::from_driver(driver, &root)
    }

    pub(crate) fn from_driver(
        driver: crate::xml::Driver<'_>,
        root: &crate::xml::Root,
    ) -> Result<Self, ParseErrors> {
        let release = WhlRelease::ALL
            .iter()
            .copied()
            .find(|r| root.namespace.as_deref() == Some(r.namespace()))
            .unwrap_or(WhlRelease::Release2);
        let mut b = WhlBuilder::default();
        driver.run(release.schema(), root, &mut b)?;
        match (b.tijdstempel, b.volgnummer) {
            (Some(t), Some(v)) => Ok(Self::assemble(release, t, v, b.nodes)),
            _ => Err(crate::internal_error()),
        }
    }

    /// The release (namespace) the list was read in.
    pub fn release(&self) -> WhlRelease {
        self.release
    }
    /// The Tijdstempel.
    pub fn tijdstempel(&self) -> &Tijdstempel {
        &self.tijdstempel
    }
    /// The Volgnummer.
    pub fn volgnummer(&self) -> &Volgnummer {
        &self.volgnummer
    }
    /// All node hostnames in list order.
    pub fn nodes(&self) -> &[Hostname] {
        &self.nodes
    }
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// Whether the list has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    /// Whether `host` is on the Whitelist, compared ASCII
    /// case-insensitively (DNS names from certificates may use any case).
    /// Does not allocate.
    pub fn contains(&self, host: &str) -> bool {
        let n = &self.nodes;
        self.index.get(host, |i| n[i].as_str()).is_some()
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
const NODE: ElemId = 4;
const HOSTNAME: ElemId = 5;

/// MedMij LISTS-6: the Whitelist content model.
static SCHEMA_R2: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/whitelist/release2/",
    rule: "LISTS-6",
    elems: &[
        ElemDecl {
            name: "Whitelist",
            content: Content::Complex(&[
                Particle {
                    elem: TIJDSTEMPEL,
                    min: 1,
                    many: false,
                },
                Particle {
                    elem: VOLGNUMMER,
                    min: 1,
                    many: false,
                },
                Particle {
                    elem: 3,
                    min: 1,
                    many: false,
                },
            ]),
        },
        ElemDecl {
            name: "Tijdstempel",
            content: Content::Simple,
        },
        ElemDecl {
            name: "Volgnummer",
            content: Content::Simple,
        },
        ElemDecl {
            name: "MedMijNodes",
            content: Content::Complex(&[Particle {
                elem: NODE,
                min: 0,
                many: true,
            }]),
        },
        ElemDecl {
            name: "MedMijNode",
            content: Content::Complex(&[Particle {
                elem: HOSTNAME,
                min: 1,
                many: false,
            }]),
        },
        ElemDecl {
            name: "Hostname",
            content: Content::Simple,
        },
    ],
};

#[derive(Default)]
struct WhlBuilder {
    tijdstempel: Option<Tijdstempel>,
    volgnummer: Option<Volgnummer>,
    nodes: Vec<Hostname>,
    hosts: KeySet,
}

fn value<T>(r: Result<T, InvalidValue>) -> Result<T, Fault> {
    r.map_err(Fault::Value)
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
                if let Some(first) = self.hosts.insert(h.as_str(), offset) {
                    return Err(Fault::Duplicate {
                        value: h.to_string(),
                        first_offset: first,
                        rule: "LISTS-6",
                    });
                }
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
