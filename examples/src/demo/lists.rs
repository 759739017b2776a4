//! The four lists: what the demo's MedMij Beheer publishes, and how each gateway
//! fetches them from the Stelselnode into a medmij-lists `ListStore`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use medmij_lists::{
    Aanbiedertype, BackChannelUri, DirArchive, FetchError, FrontChannelUri, Gegevensdienst,
    GegevensdienstId, GegevensdienstNaam, Gegevensdienstnamenlijst, GnlRelease, Hostname,
    Interfaceversie, InterfaceversieId, ListSource, ListStore, MedMijList, OAuthclient,
    OAuthclientOrganisatienaam, OAuthclientlist, OclRelease, RefreshEvent, RefreshSettings,
    Refresher, StoreEvent, Systeemrol, Systeemrolcode, Tijdstempel, Volgnummer, Weergavenaam,
    Whitelist, WhlRelease, ZalRelease, Zorgaanbieder, Zorgaanbiedernaam, Zorgaanbiederslijst,
};
use medmij_tls::WhitelistAnswer;

use super::release2::{
    GEGEVENSDIENST_2X, INTERFACEVERSIE_1X, INTERFACEVERSIE_2X, ZA2_HOST, ZORGAANBIEDER_2X,
};
use super::trace::{Actor, StepOutcome, Trace};
use super::{
    DemoError, GEGEVENSDIENST, GEGEVENSDIENST_2, GEGEVENSDIENST_DELEN, LEZER, PGO_HOST,
    STELSELNODE_HOST, SYSTEEMROL, SYSTEEMROL_LEZER, ZA_HOST, ZORGAANBIEDER, net,
};
use medmij_types::RuleId;

/// The organisation name of the PGO supplier on the OCL (shown in the consent text).
pub(crate) const PGO_ORGANISATIE: &str = "MijnPGO Demo B.V.";
/// The GNL display name of the demo Gegevensdienst.
pub(crate) const GEGEVENSDIENST_NAAM: &str = "Medicatieoverzicht";
/// The GNL display name of the second demo Gegevensdienst ([`GEGEVENSDIENST_2`]).
pub(crate) const GEGEVENSDIENST_2_NAAM: &str = "Basisgegevens Zorg";

/// The XML of the four lists, in the order ZAL, OCL, GNL, WHL.
pub(crate) struct Published {
    pub(crate) zal: String,
    /// The ZAL release3 (MedMij LISTS-15), served next to the release2 one.
    pub(crate) zal3: String,
    pub(crate) ocl: String,
    pub(crate) gnl: String,
    pub(crate) whl: String,
}

fn stamp() -> Result<(Tijdstempel, Volgnummer), DemoError> {
    let now = medmij_log::format_time(SystemTime::now());
    Ok((Tijdstempel::new(&now)?, Volgnummer::new("1")?))
}

/// The demo's Zorgaanbieders on the ZAL: [`ZORGAANBIEDER`] (a Bron, unless
/// `with_bron` is false: its Gegevensdienst withdrawn) and the Lezer [`LEZER`], both
/// served by the ZA GW.
pub(crate) fn demo_zorgaanbieders(
    za_back_port: u16,
    with_bron: bool,
) -> Result<Vec<Zorgaanbieder>, DemoError> {
    let gd = Gegevensdienst::new(
        GegevensdienstId::new(GEGEVENSDIENST)?,
        FrontChannelUri::new(&format!("https://{ZA_HOST}/oauth/authorize"))?,
        BackChannelUri::new(&format!("https://{ZA_HOST}:{za_back_port}/oauth/token"))?,
        vec![Systeemrol::new(
            Systeemrolcode::new(SYSTEEMROL)?,
            BackChannelUri::new(&format!("https://{ZA_HOST}:{za_back_port}/fhir"))?,
        )],
    )?;
    // The second Verzamelen Gegevensdienst of the same Zorgaanbieder, on the same
    // endpoints (MedMij OAUTH-5: one login and one consent for both).
    let gd_2 = Gegevensdienst::new(
        GegevensdienstId::new(GEGEVENSDIENST_2)?,
        FrontChannelUri::new(&format!("https://{ZA_HOST}/oauth/authorize"))?,
        BackChannelUri::new(&format!("https://{ZA_HOST}:{za_back_port}/oauth/token"))?,
        vec![Systeemrol::new(
            Systeemrolcode::new(SYSTEEMROL)?,
            BackChannelUri::new(&format!("https://{ZA_HOST}:{za_back_port}/fhir"))?,
        )],
    )?;
    // The Lezer, served by the same DVZA gateway under its own paths.
    let gd_lezer = Gegevensdienst::new(
        GegevensdienstId::new(GEGEVENSDIENST_DELEN)?,
        FrontChannelUri::new(&format!("https://{ZA_HOST}/lezer/oauth/authorize"))?,
        BackChannelUri::new(&format!("https://{ZA_HOST}:{za_back_port}/oauth/token"))?,
        vec![Systeemrol::new(
            Systeemrolcode::new(SYSTEEMROL_LEZER)?,
            BackChannelUri::new(&format!("https://{ZA_HOST}:{za_back_port}/lezer/fhir"))?,
        )],
    )?;
    let mut out = Vec::new();
    if with_bron {
        out.push(Zorgaanbieder::new(
            Zorgaanbiedernaam::new(ZORGAANBIEDER)?,
            vec![gd, gd_2],
        )?);
    }
    out.push(Zorgaanbieder::new(
        Zorgaanbiedernaam::new(LEZER)?,
        vec![gd_lezer],
    )?);
    Ok(out)
}

/// The demo's lists, built from the medmij-lists model and serialised with `to_xml()`.
pub(crate) fn demo_lists(za_back_port: u16, za2_back_port: u16) -> Result<Published, DemoError> {
    let (t, v) = stamp()?;
    let zal = Zorgaanbiederslijst::new(
        ZalRelease::Release2,
        t.clone(),
        v.clone(),
        demo_zorgaanbieders(za_back_port, true)?,
    )?;
    let ocl = OAuthclientlist::new(
        OclRelease::Release2,
        t.clone(),
        v.clone(),
        vec![OAuthclient::new(
            Hostname::new(PGO_HOST)?,
            OAuthclientOrganisatienaam::new(PGO_ORGANISATIE)?,
        )],
    )?;
    let gnl = Gegevensdienstnamenlijst::new(
        GnlRelease::Release1,
        t.clone(),
        v.clone(),
        vec![
            GegevensdienstNaam::new(
                GegevensdienstId::new(GEGEVENSDIENST)?,
                Weergavenaam::new(GEGEVENSDIENST_NAAM)?,
            ),
            GegevensdienstNaam::new(
                GegevensdienstId::new(GEGEVENSDIENST_2)?,
                Weergavenaam::new(GEGEVENSDIENST_2_NAAM)?,
            ),
        ],
    )?;
    Ok(Published {
        zal3: zal_release3(za_back_port, za2_back_port)?.to_xml(),
        zal: zal.to_xml(),
        ocl: ocl.to_xml(),
        gnl: gnl.to_xml(),
        whl: whitelist_xml(&[STELSELNODE_HOST, ZA_HOST, ZA2_HOST, PGO_HOST], "1")?,
    })
}

/// The ZAL release3 (MedMij LISTS-15): [`ZORGAANBIEDER`] with its Verzamelen
/// Gegevensdiensten under a 1.x Interfaceversie, and the 2.x Zorgaanbieder
/// [`ZORGAANBIEDER_2X`] under a 2.x one, at its own gateway [`ZA2_HOST`].
pub(crate) fn zal_release3(
    za_back_port: u16,
    za2_back_port: u16,
) -> Result<Zorgaanbiederslijst, DemoError> {
    let (t, v) = stamp()?;
    let gd = |host: &str, port: u16, id: &str, auth: &str, token: &str, fhir: &str| {
        Gegevensdienst::new_release3(
            GegevensdienstId::new(id)?,
            Some(FrontChannelUri::new(&format!("https://{host}{auth}"))?),
            Some(BackChannelUri::new(&format!(
                "https://{host}:{port}{token}"
            ))?),
            None,
            vec![Systeemrol::new(
                Systeemrolcode::new(SYSTEEMROL)?,
                BackChannelUri::new(&format!("https://{host}:{port}{fhir}"))?,
            )],
        )
        .map_err(DemoError::from)
    };
    let umc = Zorgaanbieder::new_release3(
        Zorgaanbiedernaam::new(ZORGAANBIEDER)?,
        Aanbiedertype::new(Aanbiedertype::ZA)?,
        vec![Interfaceversie::new(
            InterfaceversieId::new(INTERFACEVERSIE_1X)?,
            vec![
                gd(
                    ZA_HOST,
                    za_back_port,
                    GEGEVENSDIENST,
                    "/oauth/authorize",
                    "/oauth/token",
                    "/fhir",
                )?,
                gd(
                    ZA_HOST,
                    za_back_port,
                    GEGEVENSDIENST_2,
                    "/oauth/authorize",
                    "/oauth/token",
                    "/fhir",
                )?,
            ],
        )?],
    )?;
    let twee = Zorgaanbieder::new_release3(
        Zorgaanbiedernaam::new(ZORGAANBIEDER_2X)?,
        Aanbiedertype::new(Aanbiedertype::ZA)?,
        vec![Interfaceversie::new(
            InterfaceversieId::new(INTERFACEVERSIE_2X)?,
            vec![gd(
                ZA2_HOST,
                za2_back_port,
                GEGEVENSDIENST_2X,
                "/authorize",
                "/token",
                &format!("/fhir/{GEGEVENSDIENST_2X}"),
            )?],
        )?],
    )?;
    Ok(Zorgaanbiederslijst::new(
        ZalRelease::Release3,
        t,
        v,
        vec![umc, twee],
    )?)
}

/// A Whitelist with these nodes and this Volgnummer, as XML.
pub(crate) fn whitelist_xml(hosts: &[&str], volgnummer: &str) -> Result<String, DemoError> {
    let (t, _) = stamp()?;
    let whl = Whitelist::new(
        WhlRelease::Release2,
        t,
        Volgnummer::new(volgnummer)?,
        hosts
            .iter()
            .map(|h| Hostname::new(h))
            .collect::<Result<_, _>>()?,
    )?;
    Ok(whl.to_xml())
}

/// The Stelselnode as a medmij-lists [`ListSource`]: `GET /{path}` over mutual TLS
/// (pooled connections, the Stelselnode re-checked before every request: MedMij TLS-4).
pub(crate) struct StelselnodeSource {
    client: Arc<net::BackClient>,
    url: String,
}

impl ListSource for StelselnodeSource {
    async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        let resp = self
            .client
            .fetch(self.client.get(&self.url))
            .await
            .map_err(|e| FetchError::Transport(net::root_cause(e.as_ref()).into()))?;
        if resp.status != 200 {
            return Err(FetchError::Status(resp.status));
        }
        Ok(resp.body)
    }
}

/// A gateway's way to the Stelselnode, and its clock: makes one medmij-lists
/// [`Refresher`] per list (fetch, validate, install only if newer, archive: MedMij
/// LISTS-7, LISTS-9, LISTS-11), whose events become trace steps.
pub(crate) struct ListFetcher {
    client: Arc<net::BackClient>,
    port: u16,
    /// Seconds added to this gateway's clock (a demo switch to show expiry and
    /// staleness without waiting).
    clock: Arc<AtomicU64>,
}

impl ListFetcher {
    pub(crate) fn new(client: net::BackClient, port: u16) -> Self {
        ListFetcher {
            client: Arc::new(client),
            port,
            clock: Arc::new(AtomicU64::new(0)),
        }
    }

    /// This gateway's clock.
    pub(crate) fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_secs(self.clock.load(Ordering::Relaxed))
    }

    /// Moves this gateway's clock forward.
    pub(crate) fn advance_clock(&self, by: Duration) {
        self.clock.fetch_add(by.as_secs(), Ordering::Relaxed);
    }

    /// The refresher of one list: `GET /{path}` into `store`, stamped with this
    /// gateway's clock, every outcome traced as a step of `who`. The demo triggers
    /// it from its own schedule ([`super::LIST_REFRESH_INTERVAL`]) so that the ZA
    /// GW's serving-duty check (LISTS-13) follows each fetch; a gateway without such
    /// a check runs [`Refresher::run`] instead (schedule per LISTS-8, back-off).
    pub(crate) fn refresher<L: MedMijList + Send + Sync + 'static>(
        &self,
        path: &'static str,
        store: Arc<ListStore<L>>,
        trace: &Arc<Trace>,
        who: Actor,
    ) -> Result<Refresher<L, StelselnodeSource>, DemoError> {
        let source = StelselnodeSource {
            client: self.client.clone(),
            url: format!("https://{STELSELNODE_HOST}:{}/{path}", self.port),
        };
        let clock = self.clock.clone();
        let trace = trace.clone();
        let name = path.to_uppercase();
        Ok(
            Refresher::new(store, source, RefreshSettings::for_kind(L::KIND))?
                .with_clock(move || {
                    SystemTime::now() + Duration::from_secs(clock.load(Ordering::Relaxed))
                })
                .with_events(move |event| trace_refresh(&trace, who, &name, event)),
        )
    }
}

/// A refresher's event as a trace step.
fn trace_refresh(trace: &Trace, who: Actor, name: &str, event: &RefreshEvent) {
    match event {
        RefreshEvent::Accepted { event, .. } => {
            let what = match event {
                StoreEvent::Installed { .. } => "validated and installed",
                StoreEvent::Unchanged { .. } => "unchanged (same Volgnummer)",
                _ => "offered",
            };
            trace.step(
                who,
                &[RuleId::Lists7, RuleId::Lists8, RuleId::Lists9],
                StepOutcome::Done,
                format!("fetched {name} from the Stelselnode over mTLS: {what}"),
            );
        }
        // MedMij LISTS-8: the fetch itself failed; the version in force stays.
        RefreshEvent::Failed {
            rule: RuleId::Lists8,
            message,
            ..
        } => trace.step(
            who,
            &[RuleId::Lists8, RuleId::Tls3, RuleId::Tls4],
            StepOutcome::Failed,
            format!("fetching {name} failed ({message}); the version in force stays"),
        ),
        // MedMij LISTS-7, LISTS-9 (or LISTS-11: not archived): refused; the version
        // in force stays.
        RefreshEvent::Failed { message, .. } => trace.step(
            who,
            &[RuleId::Lists7, RuleId::Lists9],
            StepOutcome::Refused,
            format!("fetched {name}: REFUSED ({message}); the version in force stays"),
        ),
        _ => {}
    }
}

/// A Whitelist answer from the current list in a store (MedMij TLS-4): no valid
/// list means "cannot be determined", which refuses.
/// A list that was not fetched successfully for longer than its maximum age (3600 s
/// for the Whitelist, LISTS-8) cannot answer either.
fn whitelist_of(
    store: &Arc<ListStore<Whitelist>>,
    clock: &Arc<AtomicU64>,
) -> Arc<dyn medmij_tls::Whitelist> {
    let store = store.clone();
    let clock = clock.clone();
    Arc::new(move |host: &str, now: SystemTime| {
        let now = now + Duration::from_secs(clock.load(Ordering::Relaxed));
        if store.is_stale(now) {
            return WhitelistAnswer::Undetermined;
        }
        match store.current() {
            Some(i) if i.list().contains(host) => WhitelistAnswer::Listed,
            Some(_) => WhitelistAnswer::NotListed,
            None => WhitelistAnswer::Undetermined,
        }
    })
}

/// The Volgnummer of the list in force in `store`, if any.
fn volgnummer<L: MedMijList>(store: &ListStore<L>) -> Option<String> {
    store.current().map(|i| i.list().volgnummer().to_string())
}

/// The ZA GW's lists: ZAL (what it serves, LISTS-13), OCL, GNL, WHL.
pub(crate) struct ZaLists {
    fetcher: ListFetcher,
    pub(crate) zal: Arc<ListStore<Zorgaanbiederslijst>>,
    pub(crate) ocl: Arc<ListStore<OAuthclientlist>>,
    pub(crate) gnl: Arc<ListStore<Gegevensdienstnamenlijst>>,
    pub(crate) whl: Arc<ListStore<Whitelist>>,
    refresh_zal: Refresher<Zorgaanbiederslijst, StelselnodeSource>,
    refresh_ocl: Refresher<OAuthclientlist, StelselnodeSource>,
    refresh_gnl: Refresher<Gegevensdienstnamenlijst, StelselnodeSource>,
    refresh_whl: Refresher<Whitelist, StelselnodeSource>,
}

impl ZaLists {
    /// Every list version this gateway installs is archived in `archive`, one file
    /// per list and Volgnummer (MedMij LISTS-11: the gateway's own archive).
    pub(crate) fn new(
        fetcher: ListFetcher,
        archive: &std::path::Path,
        trace: &Arc<Trace>,
    ) -> Result<Self, DemoError> {
        let a = DirArchive::new(archive)?;
        let zal = Arc::new(ListStore::new(a.clone()));
        let ocl = Arc::new(ListStore::new(a.clone()));
        let gnl = Arc::new(ListStore::new(a.clone()));
        let whl = Arc::new(ListStore::new(a));
        let who = Actor::ZaGw;
        Ok(ZaLists {
            refresh_zal: fetcher.refresher("zal", zal.clone(), trace, who)?,
            refresh_ocl: fetcher.refresher("ocl", ocl.clone(), trace, who)?,
            refresh_gnl: fetcher.refresher("gnl", gnl.clone(), trace, who)?,
            refresh_whl: fetcher.refresher("whl", whl.clone(), trace, who)?,
            fetcher,
            zal,
            ocl,
            gnl,
            whl,
        })
    }
    /// Fetches every list now (a manual trigger of each refresher, MedMij LISTS-8).
    pub(crate) async fn refresh(&self) -> Result<(), DemoError> {
        let ocl = self.refresh_ocl.refresh_now().await;
        let gnl = self.refresh_gnl.refresh_now().await;
        let whl = self.refresh_whl.refresh_now().await;
        // The ZAL is fetched whatever became of the others: what the ZA GW serves
        // follows it (LISTS-13). The first failure is returned.
        let zal = self.refresh_zal.refresh_now().await;
        // What each fetch did is traced by the refresher's event sink.
        ocl.and(gnl).and(whl).and(zal).map(|_| ())?;
        Ok(())
    }
    pub(crate) fn whitelist(&self) -> Arc<dyn medmij_tls::Whitelist> {
        whitelist_of(&self.whl, &self.fetcher.clock)
    }
    pub(crate) fn fetcher(&self) -> &ListFetcher {
        &self.fetcher
    }
    /// The Volgnummer in force of a list.
    pub(crate) fn volgnummer(&self, list: super::List) -> Option<String> {
        match list {
            super::List::Ocl => volgnummer(&self.ocl),
            super::List::Gnl => volgnummer(&self.gnl),
            super::List::Whl => volgnummer(&self.whl),
            super::List::Zal => volgnummer(&self.zal),
        }
    }
}

/// The PGO GW's lists: ZAL, GNL, WHL.
pub(crate) struct PgoLists {
    fetcher: ListFetcher,
    pub(crate) zal: Arc<ListStore<Zorgaanbiederslijst>>,
    pub(crate) gnl: Arc<ListStore<Gegevensdienstnamenlijst>>,
    pub(crate) whl: Arc<ListStore<Whitelist>>,
    refresh_zal: Refresher<Zorgaanbiederslijst, StelselnodeSource>,
    refresh_gnl: Refresher<Gegevensdienstnamenlijst, StelselnodeSource>,
    refresh_whl: Refresher<Whitelist, StelselnodeSource>,
}

impl PgoLists {
    /// Every list version this gateway installs is archived in `archive`, one file
    /// per list and Volgnummer (MedMij LISTS-11: the gateway's own archive).
    pub(crate) fn new(
        fetcher: ListFetcher,
        archive: &std::path::Path,
        trace: &Arc<Trace>,
    ) -> Result<Self, DemoError> {
        let a = DirArchive::new(archive)?;
        let zal = Arc::new(ListStore::new(a.clone()));
        let gnl = Arc::new(ListStore::new(a.clone()));
        let whl = Arc::new(ListStore::new(a));
        let who = Actor::PgoGw;
        Ok(PgoLists {
            refresh_zal: fetcher.refresher("zal", zal.clone(), trace, who)?,
            refresh_gnl: fetcher.refresher("gnl", gnl.clone(), trace, who)?,
            refresh_whl: fetcher.refresher("whl", whl.clone(), trace, who)?,
            fetcher,
            zal,
            gnl,
            whl,
        })
    }
    /// Fetches every list now (a manual trigger of each refresher, MedMij LISTS-8);
    /// stops at the first failure.
    pub(crate) async fn refresh(&self) -> Result<(), DemoError> {
        // What each fetch did is traced by the refresher's event sink.
        self.refresh_zal.refresh_now().await.map(|_| ())?;
        self.refresh_gnl.refresh_now().await.map(|_| ())?;
        self.refresh_whl.refresh_now().await.map(|_| ())?;
        Ok(())
    }
    pub(crate) fn fetcher(&self) -> &ListFetcher {
        &self.fetcher
    }
    pub(crate) fn whitelist(&self) -> Arc<dyn medmij_tls::Whitelist> {
        whitelist_of(&self.whl, &self.fetcher.clock)
    }
    /// The Volgnummer in force of the ZAL, GNL or WHL (`None` for the OCL: the
    /// PGO GW does not fetch it).
    pub(crate) fn volgnummer(&self, list: super::List) -> Option<String> {
        match list {
            super::List::Zal => volgnummer(&self.zal),
            super::List::Gnl => volgnummer(&self.gnl),
            super::List::Whl => volgnummer(&self.whl),
            super::List::Ocl => None,
        }
    }
}

/// The 2.x ZA GW's lists as far as the demo uses them: the OCL (its clients, MedMij
/// LISTS-4, OAUTH-3) and the Whitelist (LISTS-6, TLS-4), fetched from the Stelselnode
/// like every gateway's.
pub(crate) struct Za2Lists {
    fetcher: ListFetcher,
    refresh_ocl: Refresher<OAuthclientlist, StelselnodeSource>,
    refresh_whl: Refresher<Whitelist, StelselnodeSource>,
    pub(crate) ocl: Arc<ListStore<OAuthclientlist>>,
    whl: Arc<ListStore<Whitelist>>,
}

impl Za2Lists {
    /// Every Whitelist version it installs is archived in `archive` (LISTS-11).
    pub(crate) fn new(
        fetcher: ListFetcher,
        archive: &std::path::Path,
        trace: &Arc<Trace>,
    ) -> Result<Self, DemoError> {
        let a = DirArchive::new(archive)?;
        let ocl = Arc::new(ListStore::new(a.clone()));
        let whl = Arc::new(ListStore::new(a));
        Ok(Za2Lists {
            refresh_ocl: fetcher.refresher("ocl", ocl.clone(), trace, Actor::ZaGw2x)?,
            refresh_whl: fetcher.refresher("whl", whl.clone(), trace, Actor::ZaGw2x)?,
            fetcher,
            ocl,
            whl,
        })
    }
    /// Fetches the OCL and the Whitelist now (LISTS-8); stops at the first failure.
    pub(crate) async fn refresh(&self) -> Result<(), DemoError> {
        self.refresh_ocl.refresh_now().await.map(|_| ())?;
        self.refresh_whl.refresh_now().await.map(|_| ())?;
        Ok(())
    }
    /// Who may connect (TLS-4).
    pub(crate) fn whitelist(&self) -> Arc<dyn medmij_tls::Whitelist> {
        whitelist_of(&self.whl, &self.fetcher.clock)
    }
}
