//! The Stelselnode (MedMij Beheer): serves the four lists over mutual TLS.

use std::sync::{Arc, RwLock};

use medmij_tls::WhitelistAnswer;

use super::http::{Handler, Request, Response};
use super::lists::Published;

pub(crate) struct Stelselnode {
    lists: RwLock<Published>,
}

impl Stelselnode {
    pub(crate) fn new(lists: Published) -> Self {
        Stelselnode {
            lists: RwLock::new(lists),
        }
    }

    /// Publishes a new Whitelist version (MedMij LISTS-8: gateways fetch it).
    pub(crate) fn publish_whl(&self, xml: String) {
        self.lists.write().unwrap_or_else(|e| e.into_inner()).whl = xml;
    }

    /// Who may connect: the nodes on the Whitelist it publishes (MedMij TLS-4).
    pub(crate) fn whitelist(self: &Arc<Self>) -> Arc<dyn medmij_tls::Whitelist> {
        let me = self.clone();
        Arc::new(move |host: &str| {
            let g = me.lists.read().unwrap_or_else(|e| e.into_inner());
            match medmij_lists::Whitelist::from_bytes(g.whl.as_bytes()) {
                Ok(w) if w.contains(host) => WhitelistAnswer::Listed,
                Ok(_) => WhitelistAnswer::NotListed,
                Err(_) => WhitelistAnswer::Undetermined,
            }
        })
    }

    pub(crate) fn handler(self: &Arc<Self>) -> Handler {
        let me = self.clone();
        Arc::new(move |req: &Request| {
            let g = me.lists.read().unwrap_or_else(|e| e.into_inner());
            let xml = match (req.method.as_str(), req.path()) {
                ("GET", "/zal") => &g.zal,
                ("GET", "/ocl") => &g.ocl,
                ("GET", "/gnl") => &g.gnl,
                ("GET", "/whl") => &g.whl,
                _ => return Response::html(404, "not found"),
            };
            Response::new(200, "application/xml", xml.clone())
        })
    }
}
