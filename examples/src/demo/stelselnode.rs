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
