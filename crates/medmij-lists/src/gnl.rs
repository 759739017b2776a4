//! The Gegevensdienstnamenlijst (GNL): the names of the Gegevensdiensten
//! shown to people (MedMij LISTS-5, LISTS-12).

use crate::ModelError;
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::xml::{Builder, ElemDecl, ElemId, Fault, Particle, Schema, unique, value};
use medmij_types::RuleId;
use medmij_types::{GegevensdienstId, Weergavenaam};
use medmij_types::{Tijdstempel, Volgnummer};

release_enum! {
    /// The releases of the GNL this crate reads.
    GnlRelease {
        /// Release 1, namespace
        /// `xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/`.
        Release1 => ("xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/", SCHEMA_R1),
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

/// One entry of the GNL: a GegevensdienstId and its Weergavenaam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GegevensdienstNaam {
    id: GegevensdienstId,
    weergavenaam: Weergavenaam,
}

impl GegevensdienstNaam {
    /// An entry.
    pub fn new(id: GegevensdienstId, weergavenaam: Weergavenaam) -> Self {
        Self { id, weergavenaam }
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
        crate::unique_keys(
            "GegevensdienstId",
            RuleId::Lists5,
            entries.iter().map(|e| e.id.as_str()),
        )?;
        Ok(Self::assemble(release, tijdstempel, volgnummer, entries))
    }

    fn assemble(
        release: GnlRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        entries: Vec<GegevensdienstNaam>,
    ) -> Self {
        let index = Index::build(&entries, false, |e| e.id.as_str());
        Self {
            release,
            tijdstempel,
            volgnummer,
            entries,
            index,
        }
    }

    /// All entries in list order.
    pub fn entries(&self) -> &[GegevensdienstNaam] {
        &self.entries
    }
    /// The entry with this GegevensdienstId.
    pub fn get(&self, id: &str) -> Option<&GegevensdienstNaam> {
        let e = &self.entries;
        self.index.get(e, id, |g| g.id.as_str())
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
const ENTRIES: ElemId = 3;
const ENTRY: ElemId = 4;
const ID: ElemId = 5;
const NAAM: ElemId = 6;

/// MedMij LISTS-5: the GNL content model.
static SCHEMA_R1: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/gegevensdienstnamenlijst/release1/",
    rule: RuleId::Lists5,
    elems: &[
        ElemDecl::complex(
            "Gegevensdienstnamenlijst",
            &[
                Particle::one(TIJDSTEMPEL),
                Particle::one(VOLGNUMMER),
                Particle::one(ENTRIES),
            ],
        ),
        ElemDecl::simple("Tijdstempel"),
        ElemDecl::simple("Volgnummer"),
        ElemDecl::complex("Gegevensdiensten", &[Particle::many(ENTRY, 0)]),
        ElemDecl::complex("Gegevensdienst", &[Particle::one(ID), Particle::one(NAAM)]),
        ElemDecl::simple("GegevensdienstId"),
        ElemDecl::simple("Weergavenaam"),
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

impl Builder for GnlBuilder {
    // Nothing to reset: `end` takes both fields of every entry, so the
    // next one starts empty.
    fn start(&mut self, _elem: ElemId, _offset: usize) {}

    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault> {
        match elem {
            TIJDSTEMPEL => value(Tijdstempel::new(text)).map(|v| self.tijdstempel = Some(v)),
            VOLGNUMMER => value(Volgnummer::new(text)).map(|v| self.volgnummer = Some(v)),
            ID => {
                let id = value(GegevensdienstId::new(text))?;
                // MedMij LISTS-5: GegevensdienstId unique in the GNL.
                unique(&mut self.ids, id.as_str(), offset, RuleId::Lists5)?;
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

list_common!(
    Gegevensdienstnamenlijst,
    GnlRelease,
    GnlBuilder,
    entries,
    "Gegevensdienstnamenlijst (GNL)"
);
