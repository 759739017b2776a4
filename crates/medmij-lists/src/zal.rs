//! The Zorgaanbiederslijst (ZAL): care providers, their Gegevensdiensten and
//! endpoints (MedMij LISTS-1, LISTS-2, LISTS-3).

use crate::ModelError;
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::xml::{Builder, ElemDecl, ElemId, Fault, Particle, Schema, unique, value};
use medmij_types::RuleId;
use medmij_types::{
    BackChannelUri, FrontChannelUri, GegevensdienstId, Systeemrolcode, Zorgaanbiedernaam,
};
use medmij_types::{Tijdstempel, Volgnummer};

release_enum! {
    /// The releases of the ZAL this crate reads (dakpanmodel: releases live
    /// side by side; a new release is a new variant).
    ZalRelease {
        /// Release 2, namespace
        /// `xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/`.
        Release2 => ("xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/", SCHEMA_R2),
    }
}

/// The Zorgaanbiederslijst: which care providers offer which
/// Gegevensdiensten at which endpoints.
///
/// ```
/// use medmij_lists::Zorgaanbiederslijst;
/// let xml = br#"<Zorgaanbiederslijst xmlns="xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/">
///   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel>
///   <Volgnummer>7</Volgnummer>
///   <Zorgaanbieders>
///     <Zorgaanbieder>
///       <Zorgaanbiedernaam>umcharderwijk@medmij</Zorgaanbiedernaam>
///       <Gegevensdiensten>
///         <Gegevensdienst>
///           <GegevensdienstId>4</GegevensdienstId>
///           <AuthorizationEndpoint><AuthorizationEndpointuri>https://za.example.nl/oauth/authorize</AuthorizationEndpointuri></AuthorizationEndpoint>
///           <TokenEndpoint><TokenEndpointuri>https://za.example.nl/oauth/token</TokenEndpointuri></TokenEndpoint>
///           <Systeemrollen>
///             <Systeemrol>
///               <Systeemrolcode>LAB-1.0.0-LRB-FHIR</Systeemrolcode>
///               <ResourceEndpoint><ResourceEndpointuri>https://za.example.nl:8443/fhir</ResourceEndpointuri></ResourceEndpoint>
///             </Systeemrol>
///           </Systeemrollen>
///         </Gegevensdienst>
///       </Gegevensdiensten>
///     </Zorgaanbieder>
///   </Zorgaanbieders>
/// </Zorgaanbiederslijst>"#;
/// let zal = Zorgaanbiederslijst::from_bytes(xml).unwrap();
/// let token = zal.token_endpoint("umcharderwijk@medmij", "4").unwrap();
/// assert_eq!(token.as_str(), "https://za.example.nl/oauth/token");
/// let fhir = zal.resource_endpoint("umcharderwijk@medmij", "4", "LAB-1.0.0-LRB-FHIR").unwrap();
/// assert_eq!(fhir.port(), Some(8443));
/// ```
#[derive(Debug, Clone)]
pub struct Zorgaanbiederslijst {
    release: ZalRelease,
    tijdstempel: Tijdstempel,
    volgnummer: Volgnummer,
    zorgaanbieders: Vec<Zorgaanbieder>,
    index: Index,
}

/// A care provider and the Gegevensdiensten it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zorgaanbieder {
    naam: Zorgaanbiedernaam,
    // Boxed slices, not Vecs: exact size and no capacity word (the model of
    // a large ZAL is mostly these).
    gegevensdiensten: Box<[Gegevensdienst]>,
}

/// One Gegevensdienst of one Zorgaanbieder: its authorization server and
/// its resource servers per Systeemrol (LISTS-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gegevensdienst {
    id: GegevensdienstId,
    authorization_endpoint: FrontChannelUri,
    token_endpoint: BackChannelUri,
    systeemrollen: Box<[Systeemrol]>,
}

/// A Systeemrol of a Gegevensdienst with its resource endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Systeemrol {
    code: Systeemrolcode,
    resource_endpoint: BackChannelUri,
}

impl Systeemrol {
    /// A Systeemrol.
    pub fn new(code: Systeemrolcode, resource_endpoint: BackChannelUri) -> Systeemrol {
        Systeemrol {
            code,
            resource_endpoint,
        }
    }
    /// The Systeemrolcode.
    pub fn code(&self) -> &Systeemrolcode {
        &self.code
    }
    /// The resource endpoint (back channel).
    pub fn resource_endpoint(&self) -> &BackChannelUri {
        &self.resource_endpoint
    }
}

impl Gegevensdienst {
    /// A Gegevensdienst; refuses an empty or non-unique set of Systeemrollen
    /// (LISTS-1, LISTS-2).
    pub fn new(
        id: GegevensdienstId,
        authorization_endpoint: FrontChannelUri,
        token_endpoint: BackChannelUri,
        systeemrollen: Vec<Systeemrol>,
    ) -> Result<Gegevensdienst, ModelError> {
        if systeemrollen.is_empty() {
            return Err(ModelError::Empty {
                element: "Systeemrollen",
                rule: RuleId::Lists1,
            });
        }
        crate::unique_keys(
            "Systeemrolcode",
            RuleId::Lists2,
            systeemrollen.iter().map(|s| s.code.as_str()),
        )?;
        Ok(Gegevensdienst {
            id,
            authorization_endpoint,
            token_endpoint,
            systeemrollen: systeemrollen.into_boxed_slice(),
        })
    }
    /// The GegevensdienstId.
    pub fn id(&self) -> &GegevensdienstId {
        &self.id
    }
    /// The authorization endpoint (front channel).
    pub fn authorization_endpoint(&self) -> &FrontChannelUri {
        &self.authorization_endpoint
    }
    /// The token endpoint (back channel).
    pub fn token_endpoint(&self) -> &BackChannelUri {
        &self.token_endpoint
    }
    /// The Systeemrollen (at least one, codes unique).
    pub fn systeemrollen(&self) -> &[Systeemrol] {
        &self.systeemrollen
    }
    /// The Systeemrol with this code.
    pub fn systeemrol(&self, code: &str) -> Option<&Systeemrol> {
        self.systeemrollen.iter().find(|s| s.code.as_str() == code)
    }
}

impl Zorgaanbieder {
    /// A Zorgaanbieder; refuses an empty or non-unique set of
    /// Gegevensdiensten (LISTS-1, LISTS-2).
    pub fn new(
        naam: Zorgaanbiedernaam,
        gegevensdiensten: Vec<Gegevensdienst>,
    ) -> Result<Zorgaanbieder, ModelError> {
        if gegevensdiensten.is_empty() {
            return Err(ModelError::Empty {
                element: "Gegevensdiensten",
                rule: RuleId::Lists1,
            });
        }
        crate::unique_keys(
            "GegevensdienstId",
            RuleId::Lists2,
            gegevensdiensten.iter().map(|g| g.id.as_str()),
        )?;
        Ok(Zorgaanbieder {
            naam,
            gegevensdiensten: gegevensdiensten.into_boxed_slice(),
        })
    }
    /// The Zorgaanbiedernaam.
    pub fn naam(&self) -> &Zorgaanbiedernaam {
        &self.naam
    }
    /// The Gegevensdiensten (at least one, ids unique).
    pub fn gegevensdiensten(&self) -> &[Gegevensdienst] {
        &self.gegevensdiensten
    }
    /// The Gegevensdienst with this id.
    pub fn gegevensdienst(&self, id: &str) -> Option<&Gegevensdienst> {
        // One to a handful per provider: a scan beats hashing.
        self.gegevensdiensten.iter().find(|g| g.id.as_str() == id)
    }
}

impl Zorgaanbiederslijst {
    /// A ZAL from its parts; refuses duplicate Zorgaanbiedernamen (LISTS-2).
    pub fn new(
        release: ZalRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        zorgaanbieders: Vec<Zorgaanbieder>,
    ) -> Result<Zorgaanbiederslijst, ModelError> {
        crate::unique_keys(
            "Zorgaanbiedernaam",
            RuleId::Lists2,
            zorgaanbieders.iter().map(|z| z.naam.as_str()),
        )?;
        Ok(Self::assemble(
            release,
            tijdstempel,
            volgnummer,
            zorgaanbieders,
        ))
    }

    fn assemble(
        release: ZalRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        zorgaanbieders: Vec<Zorgaanbieder>,
    ) -> Zorgaanbiederslijst {
        let index = Index::build(zorgaanbieders.len(), false, |i| {
            zorgaanbieders[i].naam.as_str()
        });
        Zorgaanbiederslijst {
            release,
            tijdstempel,
            volgnummer,
            zorgaanbieders,
            index,
        }
    }

    /// All Zorgaanbieders in list order.
    pub fn zorgaanbieders(&self) -> &[Zorgaanbieder] {
        &self.zorgaanbieders
    }

    /// The Zorgaanbieder with this name (exact match; names are lowercase).
    pub fn zorgaanbieder(&self, naam: &str) -> Option<&Zorgaanbieder> {
        let z = &self.zorgaanbieders;
        self.index.get(naam, |i| z[i].naam.as_str()).map(|i| &z[i])
    }

    /// The Gegevensdienst `id` of Zorgaanbieder `naam`: its authorization
    /// server (LISTS-2: at most one per pair).
    pub fn gegevensdienst(&self, naam: &str, id: &str) -> Option<&Gegevensdienst> {
        self.zorgaanbieder(naam)?.gegevensdienst(id)
    }

    /// The authorization endpoint of (Zorgaanbieder, Gegevensdienst).
    pub fn authorization_endpoint(&self, naam: &str, id: &str) -> Option<&FrontChannelUri> {
        Some(&self.gegevensdienst(naam, id)?.authorization_endpoint)
    }

    /// The token endpoint of (Zorgaanbieder, Gegevensdienst).
    pub fn token_endpoint(&self, naam: &str, id: &str) -> Option<&BackChannelUri> {
        Some(&self.gegevensdienst(naam, id)?.token_endpoint)
    }

    /// The resource endpoint of (Zorgaanbieder, Gegevensdienst, Systeemrol)
    /// (LISTS-2: at most one per triple).
    pub fn resource_endpoint(
        &self,
        naam: &str,
        id: &str,
        systeemrolcode: &str,
    ) -> Option<&BackChannelUri> {
        Some(
            &self
                .gegevensdienst(naam, id)?
                .systeemrol(systeemrolcode)?
                .resource_endpoint,
        )
    }

    /// Serializes the list as XML in its release's namespace.
    pub fn to_xml(&self) -> String {
        const ROOT: &str = "Zorgaanbiederslijst";
        let mut w = XmlOut::new(ROOT, self.release.namespace());
        w.leaf("Tijdstempel", self.tijdstempel.as_str());
        w.leaf("Volgnummer", self.volgnummer.as_str());
        w.open("Zorgaanbieders");
        for z in &self.zorgaanbieders {
            w.open("Zorgaanbieder");
            w.leaf("Zorgaanbiedernaam", z.naam.as_str());
            w.open("Gegevensdiensten");
            for g in &z.gegevensdiensten {
                w.open("Gegevensdienst");
                w.leaf("GegevensdienstId", g.id.as_str());
                w.open("AuthorizationEndpoint");
                w.leaf(
                    "AuthorizationEndpointuri",
                    g.authorization_endpoint.as_str(),
                );
                w.close("AuthorizationEndpoint");
                w.open("TokenEndpoint");
                w.leaf("TokenEndpointuri", g.token_endpoint.as_str());
                w.close("TokenEndpoint");
                w.open("Systeemrollen");
                for s in &g.systeemrollen {
                    w.open("Systeemrol");
                    w.leaf("Systeemrolcode", s.code.as_str());
                    w.open("ResourceEndpoint");
                    w.leaf("ResourceEndpointuri", s.resource_endpoint.as_str());
                    w.close("ResourceEndpoint");
                    w.close("Systeemrol");
                }
                w.close("Systeemrollen");
                w.close("Gegevensdienst");
            }
            w.close("Gegevensdiensten");
            w.close("Zorgaanbieder");
        }
        w.close("Zorgaanbieders");
        w.finish(ROOT)
    }
}

// Element ids of the content model below.
const ROOT: ElemId = 0;
const TIJDSTEMPEL: ElemId = 1;
const VOLGNUMMER: ElemId = 2;
const ZORGAANBIEDERS: ElemId = 3;
const ZORGAANBIEDER: ElemId = 4;
const NAAM: ElemId = 5;
const GEGEVENSDIENSTEN: ElemId = 6;
const GEGEVENSDIENST: ElemId = 7;
const GD_ID: ElemId = 8;
const AUTH: ElemId = 9;
const AUTH_URI: ElemId = 10;
const TOKEN: ElemId = 11;
const TOKEN_URI: ElemId = 12;
const SYSTEEMROLLEN: ElemId = 13;
const SYSTEEMROL: ElemId = 14;
const CODE: ElemId = 15;
const RESOURCE: ElemId = 16;
const RESOURCE_URI: ElemId = 17;

/// MedMij LISTS-1: the ZAL content model.
static SCHEMA_R2: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/zorgaanbiederslijst/release2/",
    rule: RuleId::Lists1,
    elems: &[
        ElemDecl::complex(
            "Zorgaanbiederslijst",
            &[
                Particle::one(TIJDSTEMPEL),
                Particle::one(VOLGNUMMER),
                Particle::one(ZORGAANBIEDERS),
            ],
        ),
        ElemDecl::simple("Tijdstempel"),
        ElemDecl::simple("Volgnummer"),
        ElemDecl::complex("Zorgaanbieders", &[Particle::many(ZORGAANBIEDER, 0)]),
        ElemDecl::complex(
            "Zorgaanbieder",
            &[Particle::one(NAAM), Particle::one(GEGEVENSDIENSTEN)],
        ),
        ElemDecl::simple("Zorgaanbiedernaam"),
        ElemDecl::complex("Gegevensdiensten", &[Particle::many(GEGEVENSDIENST, 1)]),
        ElemDecl::complex(
            "Gegevensdienst",
            &[
                Particle::one(GD_ID),
                Particle::one(AUTH),
                Particle::one(TOKEN),
                Particle::one(SYSTEEMROLLEN),
            ],
        ),
        ElemDecl::simple("GegevensdienstId"),
        ElemDecl::complex("AuthorizationEndpoint", &[Particle::one(AUTH_URI)]),
        ElemDecl::simple("AuthorizationEndpointuri"),
        ElemDecl::complex("TokenEndpoint", &[Particle::one(TOKEN_URI)]),
        ElemDecl::simple("TokenEndpointuri"),
        ElemDecl::complex("Systeemrollen", &[Particle::many(SYSTEEMROL, 1)]),
        ElemDecl::complex(
            "Systeemrol",
            &[Particle::one(CODE), Particle::one(RESOURCE)],
        ),
        ElemDecl::simple("Systeemrolcode"),
        ElemDecl::complex("ResourceEndpoint", &[Particle::one(RESOURCE_URI)]),
        ElemDecl::simple("ResourceEndpointuri"),
    ],
};

#[derive(Default)]
struct ZalBuilder {
    tijdstempel: Option<Tijdstempel>,
    volgnummer: Option<Volgnummer>,
    zorgaanbieders: Vec<Zorgaanbieder>,
    names: KeySet,
    // Current Zorgaanbieder.
    naam: Option<Zorgaanbiedernaam>,
    diensten: Vec<Gegevensdienst>,
    dienst_ids: KeySet,
    entry_ok: bool,
    // Current Gegevensdienst.
    gd_id: Option<GegevensdienstId>,
    auth: Option<FrontChannelUri>,
    token: Option<BackChannelUri>,
    rollen: Vec<Systeemrol>,
    codes: KeySet,
    // Current Systeemrol.
    code: Option<Systeemrolcode>,
    resource: Option<BackChannelUri>,
}

impl Builder for ZalBuilder {
    fn start(&mut self, elem: ElemId, _offset: usize) {
        match elem {
            ZORGAANBIEDER => {
                self.naam = None;
                self.diensten.clear();
                self.dienst_ids.clear();
                self.entry_ok = true;
            }
            GEGEVENSDIENST => {
                self.gd_id = None;
                self.auth = None;
                self.token = None;
                self.rollen.clear();
                self.codes.clear();
            }
            SYSTEEMROL => {
                self.code = None;
                self.resource = None;
            }
            _ => {}
        }
    }

    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault> {
        let r = match elem {
            TIJDSTEMPEL => value(Tijdstempel::new(text)).map(|v| self.tijdstempel = Some(v)),
            VOLGNUMMER => value(Volgnummer::new(text)).map(|v| self.volgnummer = Some(v)),
            NAAM => {
                let naam = value(Zorgaanbiedernaam::new(text))?;
                // MedMij LISTS-2: Zorgaanbiedernaam unique in the ZAL.
                unique(&mut self.names, naam.as_str(), offset, RuleId::Lists2)
                    .inspect_err(|_| self.entry_ok = false)?;
                self.naam = Some(naam);
                Ok(())
            }
            GD_ID => {
                let id = value(GegevensdienstId::new(text))?;
                // MedMij LISTS-2: GegevensdienstId unique within one Zorgaanbieder.
                unique(&mut self.dienst_ids, id.as_str(), offset, RuleId::Lists2)?;
                self.gd_id = Some(id);
                Ok(())
            }
            AUTH_URI => value(FrontChannelUri::new(text)).map(|v| self.auth = Some(v)),
            TOKEN_URI => value(BackChannelUri::new(text)).map(|v| self.token = Some(v)),
            CODE => {
                let code = value(Systeemrolcode::new(text))?;
                // MedMij LISTS-2: Systeemrolcode unique within one Gegevensdienst.
                unique(&mut self.codes, code.as_str(), offset, RuleId::Lists2)?;
                self.code = Some(code);
                Ok(())
            }
            RESOURCE_URI => value(BackChannelUri::new(text)).map(|v| self.resource = Some(v)),
            _ => Ok(()),
        };
        if r.is_err() {
            self.entry_ok = false;
        }
        r
    }

    fn end(&mut self, elem: ElemId) -> Result<(), Fault> {
        match elem {
            SYSTEEMROL => {
                if let (Some(code), Some(resource_endpoint)) =
                    (self.code.take(), self.resource.take())
                {
                    self.rollen.push(Systeemrol {
                        code,
                        resource_endpoint,
                    });
                }
            }
            GEGEVENSDIENST => {
                if let (Some(id), Some(auth), Some(token)) =
                    (self.gd_id.take(), self.auth.take(), self.token.take())
                {
                    self.diensten.push(Gegevensdienst {
                        id,
                        authorization_endpoint: auth,
                        token_endpoint: token,
                        // An exact-size copy; the builder keeps its buffer.
                        systeemrollen: self.rollen.drain(..).collect(),
                    });
                }
            }
            ZORGAANBIEDER => {
                if let Some(naam) = self.naam.take()
                    && self.entry_ok
                {
                    self.zorgaanbieders.push(Zorgaanbieder {
                        naam,
                        gegevensdiensten: self.diensten.drain(..).collect(),
                    });
                }
            }
            ROOT | ZORGAANBIEDERS | GEGEVENSDIENSTEN | AUTH | TOKEN | SYSTEEMROLLEN | RESOURCE => {}
            _ => {}
        }
        Ok(())
    }
}

list_common!(
    Zorgaanbiederslijst,
    ZalRelease,
    ZalBuilder,
    zorgaanbieders,
    "Zorgaanbiederslijst (ZAL)"
);
