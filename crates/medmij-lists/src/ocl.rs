//! The OAuth Client List (OCL): the PGO gateways that may act as OAuth
//! clients (MedMij LISTS-4, OAUTH-3).

use crate::ModelError;
use crate::index::{Index, KeySet};
use crate::ser::XmlOut;
use crate::xml::{Builder, ElemDecl, ElemId, Fault, Particle, Schema, unique, value};
use medmij_types::RuleId;
use medmij_types::{GegevensdienstId, Hostname, OAuthclientOrganisatienaam};
use medmij_types::{Tijdstempel, Volgnummer};

release_enum! {
    /// The releases of the OCL this crate reads.
    OclRelease {
        /// Release 2, namespace
        /// `xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/`.
        Release2 => ("xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/", SCHEMA_R2),
    }
}

/// The OAuth Client List. The hostname is the client's identity: its OAuth
/// `client_id` and the DNS name in its certificate (LISTS-4, OAUTH-3).
///
/// ```
/// use medmij_lists::OAuthclientlist;
/// let xml = br#"<OAuthclientlist xmlns="xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/">
///   <Tijdstempel>2026-11-22T10:00:00Z</Tijdstempel><Volgnummer>522</Volgnummer>
///   <OAuthclients><OAuthclient><Hostname>medmij.pgo.example.nl</Hostname>
///     <OAuthclientOrganisatienaam>De PGO</OAuthclientOrganisatienaam></OAuthclient></OAuthclients>
/// </OAuthclientlist>"#;
/// let ocl = OAuthclientlist::from_bytes(xml).unwrap();
/// let client = ocl.get("Medmij.PGO.example.nl").unwrap(); // DNS names are case-insensitive
/// assert_eq!(client.organisatienaam().as_str(), "De PGO");
/// ```
#[derive(Debug, Clone)]
pub struct OAuthclientlist {
    release: OclRelease,
    tijdstempel: Tijdstempel,
    volgnummer: Volgnummer,
    clients: Vec<OAuthclient>,
    index: Index,
}

/// One OAuth client (a PGO gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthclient {
    hostname: Hostname,
    organisatienaam: OAuthclientOrganisatienaam,
    gegevensdiensten: Option<Vec<GegevensdienstId>>,
}

impl OAuthclient {
    /// A client as release 2 lists it.
    pub fn new(hostname: Hostname, organisatienaam: OAuthclientOrganisatienaam) -> Self {
        Self {
            hostname,
            organisatienaam,
            gegevensdiensten: None,
        }
    }
    /// The hostname (client_id and certificate DNS name).
    pub fn hostname(&self) -> &Hostname {
        &self.hostname
    }
    /// The organisation name, shown to the person in the consent text
    /// (CONSENT-1).
    pub fn organisatienaam(&self) -> &OAuthclientOrganisatienaam {
        &self.organisatienaam
    }
    /// The GegevensdienstIds the client may use, where the release lists
    /// them (LISTS-4: later releases); `None` in release 2, which does not
    /// say.
    pub fn gegevensdiensten(&self) -> Option<&[GegevensdienstId]> {
        self.gegevensdiensten.as_deref()
    }
}

impl OAuthclientlist {
    /// An OCL from its parts; refuses duplicate hostnames (LISTS-4).
    pub fn new(
        release: OclRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        clients: Vec<OAuthclient>,
    ) -> Result<Self, ModelError> {
        crate::unique_keys(
            "Hostname",
            RuleId::Lists4,
            clients.iter().map(|c| c.hostname.as_str()),
        )?;
        Ok(Self::assemble(release, tijdstempel, volgnummer, clients))
    }

    fn assemble(
        release: OclRelease,
        tijdstempel: Tijdstempel,
        volgnummer: Volgnummer,
        clients: Vec<OAuthclient>,
    ) -> Self {
        let index = Index::build(&clients, true, |c| c.hostname.as_str());
        Self {
            release,
            tijdstempel,
            volgnummer,
            clients,
            index,
        }
    }

    /// All clients in list order.
    pub fn clients(&self) -> &[OAuthclient] {
        &self.clients
    }
    /// The client with this hostname, compared ASCII case-insensitively.
    pub fn get(&self, hostname: &str) -> Option<&OAuthclient> {
        let c = &self.clients;
        self.index.get(c, hostname, |c| c.hostname.as_str())
    }
    /// Whether `hostname` is on the list (ASCII case-insensitive).
    #[must_use]
    pub fn contains(&self, hostname: &str) -> bool {
        self.get(hostname).is_some()
    }

    /// Serializes the list as XML in its release's namespace.
    pub fn to_xml(&self) -> String {
        const ROOT: &str = "OAuthclientlist";
        let mut w = XmlOut::new(ROOT, self.release.namespace());
        w.leaf("Tijdstempel", self.tijdstempel.as_str());
        w.leaf("Volgnummer", self.volgnummer.as_str());
        w.open("OAuthclients");
        for c in &self.clients {
            w.open("OAuthclient");
            w.leaf("Hostname", c.hostname.as_str());
            w.leaf("OAuthclientOrganisatienaam", c.organisatienaam.as_str());
            w.close("OAuthclient");
        }
        w.close("OAuthclients");
        w.finish(ROOT)
    }
}

const TIJDSTEMPEL: ElemId = 1;
const VOLGNUMMER: ElemId = 2;
const CLIENTS: ElemId = 3;
const CLIENT: ElemId = 4;
const HOSTNAME: ElemId = 5;
const NAAM: ElemId = 6;

/// MedMij LISTS-4: the OCL content model.
static SCHEMA_R2: Schema = Schema {
    namespace: "xmlns://afsprakenstelsel.medmij.nl/oauthclientlist/release2/",
    rule: RuleId::Lists4,
    elems: &[
        ElemDecl::complex(
            "OAuthclientlist",
            &[
                Particle::one(TIJDSTEMPEL),
                Particle::one(VOLGNUMMER),
                Particle::one(CLIENTS),
            ],
        ),
        ElemDecl::simple("Tijdstempel"),
        ElemDecl::simple("Volgnummer"),
        ElemDecl::complex("OAuthclients", &[Particle::many(CLIENT, 0)]),
        ElemDecl::complex(
            "OAuthclient",
            &[Particle::one(HOSTNAME), Particle::one(NAAM)],
        ),
        ElemDecl::simple("Hostname"),
        ElemDecl::simple("OAuthclientOrganisatienaam"),
    ],
};

#[derive(Default)]
struct OclBuilder {
    tijdstempel: Option<Tijdstempel>,
    volgnummer: Option<Volgnummer>,
    clients: Vec<OAuthclient>,
    hosts: KeySet,
    hostname: Option<Hostname>,
    naam: Option<OAuthclientOrganisatienaam>,
}

impl Builder for OclBuilder {
    // Nothing to reset: `end` takes both fields of every entry, so the
    // next one starts empty.
    fn start(&mut self, _elem: ElemId, _offset: usize) {}

    fn value(&mut self, elem: ElemId, text: &str, offset: usize) -> Result<(), Fault> {
        match elem {
            TIJDSTEMPEL => value(Tijdstempel::new(text)).map(|v| self.tijdstempel = Some(v)),
            VOLGNUMMER => value(Volgnummer::new(text)).map(|v| self.volgnummer = Some(v)),
            HOSTNAME => {
                let h = value(Hostname::new(text))?;
                // MedMij LISTS-4: Hostname unique in the OCL.
                unique(&mut self.hosts, h.as_str(), offset, RuleId::Lists4)?;
                self.hostname = Some(h);
                Ok(())
            }
            NAAM => value(OAuthclientOrganisatienaam::new(text)).map(|v| self.naam = Some(v)),
            _ => Ok(()),
        }
    }

    fn end(&mut self, elem: ElemId) -> Result<(), Fault> {
        if elem == CLIENT
            && let (Some(hostname), Some(organisatienaam)) =
                (self.hostname.take(), self.naam.take())
        {
            self.clients
                .push(OAuthclient::new(hostname, organisatienaam));
        }
        Ok(())
    }
}

list_common!(
    OAuthclientlist,
    OclRelease,
    OclBuilder,
    clients,
    "OAuth Client List (OCL)"
);
