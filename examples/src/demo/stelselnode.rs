//! The Stelselnode (MedMij Beheer): serves the four lists over mutual TLS, and
//! publishes new versions at run time.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use medmij_tls::WhitelistAnswer;

use super::lists::Published;
use super::net;

pub(crate) struct Stelselnode {
    lists: RwLock<Published>,
}

impl Stelselnode {
    pub(crate) fn new(lists: Published) -> Self {
        Stelselnode {
            lists: RwLock::new(lists),
        }
    }

    /// Publishes a new version of one list; gateways fetch it on their next
    /// refresh (MedMij LISTS-8) and validate it before installing it (LISTS-7,
    /// LISTS-9). The Stelselnode serves what MedMij Beheer gives it as is.
    pub(crate) fn publish(&self, list: super::List, xml: String) {
        let mut g = self.lists.write().unwrap_or_else(|e| e.into_inner());
        match list {
            super::List::Zal => g.zal = xml,
            super::List::Ocl => g.ocl = xml,
            super::List::Gnl => g.gnl = xml,
            super::List::Whl => g.whl = xml,
        }
    }

    /// The XML of one list as it is published now.
    pub(crate) fn published(&self, list: super::List) -> String {
        let g = self.lists.read().unwrap_or_else(|e| e.into_inner());
        match list {
            super::List::Zal => g.zal.clone(),
            super::List::Ocl => g.ocl.clone(),
            super::List::Gnl => g.gnl.clone(),
            super::List::Whl => g.whl.clone(),
        }
    }

    /// Who may connect: the nodes on the Whitelist it publishes (MedMij TLS-4).
    pub(crate) fn whitelist(self: &Arc<Self>) -> Arc<dyn medmij_tls::Whitelist> {
        let me = self.clone();
        Arc::new(move |host: &str, _now: std::time::SystemTime| {
            let g = me.lists.read().unwrap_or_else(|e| e.into_inner());
            match medmij_lists::Whitelist::from_bytes(g.whl.as_bytes()) {
                Ok(w) if w.contains(host) => WhitelistAnswer::Listed,
                Ok(_) => WhitelistAnswer::NotListed,
                Err(_) => WhitelistAnswer::Undetermined,
            }
        })
    }

    /// `GET /zal`, `/ocl`, `/gnl`, `/whl`.
    pub(crate) fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/{list}", get(serve_list))
            .with_state(self.clone())
    }
}

async fn serve_list(State(me): State<Arc<Stelselnode>>, Path(list): Path<String>) -> Response {
    let g = me.lists.read().unwrap_or_else(|e| e.into_inner());
    let xml = match list.as_str() {
        "zal" => &g.zal,
        "ocl" => &g.ocl,
        "gnl" => &g.gnl,
        "whl" => &g.whl,
        _ => return net::html(404, "not found"),
    };
    net::typed(200, "application/xml", xml.clone())
}
