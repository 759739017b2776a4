//! The Gegevensdienstnamenlijst (GNL): the names of the Gegevensdiensten
//! shown to people (MedMij LISTS-5, LISTS-12).

use crate::error::{InvalidValue, ParseErrors};
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::types::{GegevensdienstId, Weergavenaam};
use crate::value::{Tijdstempel, Volgnummer};
use crate::xml::{Builder, Content, ElemDecl, ElemId, Fault, Particle, Schema};
use crate::{ModelError, ParseOptions};

/// The releases of the GNL this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GnlRelease {
    /// Release 1, namespace
    /// `xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/`.
    Release1,
}

impl GnlRelease {
    /// Every supported release.
    pub const ALL: &'static [GnlRelease] = &[GnlRelease::Release1];

    /// The XML namespace of this release.
    pub fn namespace(self) -> &'static str {
        match self {
            GnlRelease::Release1 => {
                "xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/"
            }
        }
    }

    pub(crate) fn schema(self) -> &'static Schema {
        match self {
            GnlRelease::Release1 => &SCHEMA_R1,
        }
    }
}

/// The Gegevensdienstnamenlijst: the user-facing name of every
/// Gegevensdienst. It is the source of truth at run time (LISTS-12): this
/// crate hard-codes no catalogue.
///
/// ```
/// use medmij_lists::Gegevensdienstnamenlijst;
/// let xml = br#"<Gegevensdienstnamenlijst xmlns="xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/">
///   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>3</Volgnummer>
///   <Gegevensdiensten><Gegevensdienst><GegevensdienstId>4</GegevensdienstId>
///     <Weergavenaam>Laboratoriumresultaten</Weergavenaam></Gegevensdienst></Gegevensdiensten>
/// </Gegevensdienstnamenlijst>"#;
/// let gnl = Gegevensdienstnamenlijst::from_bytes(xml).unwrap();
/// assert_eq!(gnl.weergavenaam("4").unwrap().as_str(), "Laboratoriumresultaten");
/// ```
#[derive(Debug, Clone)]
pub struct Gegevensdienstnamenlijst {
    release: GnlRelease,
    tijdstempel: Tijdstempel,
    volgnummer: Volgnummer,
    entries: Vec<GegevensdienstNaam>,
    index: Index,
}

impl PartialEq for Gegevensdienstnamenlijst {
    fn eq(&self, other: &Self) -> bool {
        self.release == other.release
            && self.tijdstempel == other.tijdstempel
            && self.volgnummer == other.volgnummer
            && self.entries == other.entries
    }
}
impl Eq for Gegevensdienstnamenlijst {}

/// One entry of the GNL: a GegevensdienstId and its Weergavenaam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GegevensdienstNaam {
    id: GegevensdienstId,
    weergavenaam: Weergavenaam,
}

impl GegevensdienstNaam {
    /// An entry.
    pub fn new(id: GegevensdienstId, weergavenaam: Weergavenaam) -> Self {
        GegevensdienstNaam { id, weergavenaam }
    }
    /// The GegevensdienstId.
    pub fn id(&self) -> &GegevensdienstId {
        &self.id
    }
    /// The user-facing name (CONSENT-1).
    pub fn weergavenaam(&self) -> &Weergavenaam {
        &self.weergavenaam
    }
}

impl Gegevensdienstnamenlijst {
    /// A GNL from its parts; refuses duplicate ids (LISTS-5).
    pub fn new(
        release: GnlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        entries: Vec<GegevensdienstNaam>,
    ) -> Result<Self, ModelError> {
        let mut seen = KeySet::default();
        for e in &entries {
            if seen.insert(e.id.as_str(), 0).is_some() {
                return Err(ModelError::Duplicate {
                    element: "GegevensdienstId",
                    value: e.id.to_string(),
                    rule: "LISTS-5",
                });
            }
        }
        Ok(Self::assemble(release, tijdstempel, volgnummer, entries))
    }

    fn assemble(
        release: GnlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        entries: Vec<GegevensdienstNaam>,
    ) -> Self {
        let index = Index::build(entries.len(), false, |i| entries[i].id.as_str());
        Gegevensdienstnamenlijst {
            release,
            tijdstempel,
            volgnummer,
            entries,
            index,
        }
    }

    /// Parses and fully validates a GNL with the default [`ParseOptions`].
    pub fn from_bytes(input: &[u8]) -> Result<Self, ParseErrors> {
        Self::from_bytes_with(input, &ParseOptions::default())
    }

    /// Parses and fully validates a GNL.
    pub fn from_bytes_with(input: &[u8], opts: &ParseOptions) -> Result<Self, ParseErrors> {
        let (driver, root) = crate::xml::Driver::new(input, opts)?;
        Self::from_driver(driver, &root)
    }

    pub(crate) fn from_driver(
        driver: crate::xml::Driver<'_>,
        root: &crate::xml::Root,
    ) -> Result<Self, ParseErrors> {
        let release = GnlRelease::ALL
            .iter()
            .copied()
            .find(|r| root.namespace.as_deref() == Some(r.namespace()))
            .unwrap_or(GnlRelease::Release1);
        let mut b = GnlBuilder::default();
        driver.run(release.schema(), root, &mut b)?;
        match (b.tijdstempel, b.volgnummer) {
            (Some(t), Some(v)) => Ok(Self::assemble(release, t, v, b.entries)),
            _ => Err(crate::internal_error()),
        }
    }

    /// The release (namespace) the list was read in.
    pub fn release(&self) -> GnlRelease {
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
    /// All entries in list order.
    pub fn entries(&self) -> &[GegevensdienstNaam] {
        &self.entries
    }
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The entry with this GegevensdienstId.
    pub fn get(&self, id: &str) -> Option<&GegevensdienstNaam> {
        let e = &self.entries;
        self.index.get(id, |i| e[i].id.as_str()).map(|i| &e[i])
    }
    /// The Weergavenaam of this GegevensdienstId.
    pub fn weergavenaam(&self, id: &str) -> Option<&Weergavenaam> {
        self.get(id).map(|e| &e.weergavenaam)
    }

    /// Serializes the list as XML in its release's namespace.
    pub fn to_xml(&self) -> String {
        const ROOT: &str = "Gegevensdienstnamenlijst";
        let mut w = XmlOut::new(ROOT, self.release.namespace());
        w.leaf("Tijdstempel", self.tijdstempel.as_str());
        w.leaf("Volgnummer", self.volgnummer.as_str());
        w.open("Gegevensdiensten");
        for e in &self.entries {
            w.open("Gegevensdienst");
            w.leaf("GegevensdienstId", e.id.as_str());
            w.leaf("Weergavenaam", e.weergavenaam.as_str());
            w.close("Gegevensdienst");
        }
        w.close("Gegevensdiensten");
        w.finish(ROOT)
    }
}

const TIJDSTEMPEL: ElemId = 1;
const VOLGNUMMER: ElemId = 2;
const ENTRY: ElemId = 4;
const ID: ElemId = 5;
const NAAM: ElemId = 6;

/// MedMij LISTS-5: the GNL content model.
static SCHEMA_R1: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/",
    rule: "LISTS-5",
    elems: &[
        ElemDecl {
            name: "Gegevensdienstnamenlijst",
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
            name: "Gegevensdiensten",
            content: Content::Complex(&[Particle {
                elem: ENTRY,
                min: 0,
                many: true,
            }]),
        },
        ElemDecl {
            name: "Gegevensdienst",
            content: Content::Complex(&[
                Particle {
                    elem: ID,
                    min: 1,
                    many: false,
                },
                Particle {
                    elem: NAAM,
                    min: 1,
                    many: false,
                },
            ]),
        },
        ElemDecl {
            name: "GegevensdienstId",
            content: Content::Simple,
        },
        ElemDecl {
            name: "Weergavenaam",
            content: Content::Simple,
        },
    ],
};

#[derive(Default)]
struct GnlBuilder {
    tijdstempel: Option<Tijdstempel>,
    volgnummer: Option<Volgnummer>,
    entries: Vec<GegevensdienstNaam>,
    ids: KeySet,
    id: Option<GegevensdienstId>,
    naam: Option<Weergavenaam>,
}

fn value<T>(r: Result<T, InvalidValue>) -> Result<T, Fault> {
    r.map_err(Fault::Value)
}

impl Builder for GnlBuilder {
    fn start(&mut self, elem: ElemId, _offset: usize) {
        if elem == ENTRY {
            self.id = None;
            self.naam = None;
        }
    }

    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault> {
        match elem {
            TIJDSTEMPEL => value(Tijdstempel::new(text)).map(|v| self.tijdstempel = Some(v)),
            VOLGNUMMER => value(Volgnummer::new(text)).map(|v| self.volgnummer = Some(v)),
            ID => {
                let id = value(GegevensdienstId::new(text))?;
                // MedMij LISTS-5: GegevensdienstId unique in the GNL.
                if let Some(first) = self.ids.insert(id.as_str(), offset) {
                    return Err(Fault::Duplicate {
                        value: id.to_string(),
                        first_offset: first,
                        rule: "LISTS-5",
                    });
                }
                self.id = Some(id);
                Ok(())
            }
            NAAM => value(Weergavenaam::new(text)).map(|v| self.naam = Some(v)),
            _ => Ok(()),
        }
    }

    fn end(&mut self, elem: ElemId) -> Result<(), Fault> {
        if elem == ENTRY
            && let (Some(id), Some(weergavenaam)) = (self.id.take(), self.naam.take())
        {
            self.entries.push(GegevensdienstNaam { id, weergavenaam });
        }
        Ok(())
    }
}
