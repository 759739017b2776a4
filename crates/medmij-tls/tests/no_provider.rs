//! The OCSP fetcher on reqwest works in a process that installed no rustls
//! crypto provider (a host must not get a panic from it; MedMij TLS-3 relies
//! on the fetcher to fill the cache).

#[cfg(feature = "tokio")]
mod tls_3 {
    #[test]
    fn the_reqwest_ocsp_fetcher_needs_no_process_wide_provider() {
        assert!(
            rustls::crypto::CryptoProvider::get_default().is_none(),
            "this test binary must not install a provider"
        );
        let fetcher = medmij_tls::ReqwestOcspFetcher::new();
        assert!(fetcher.is_ok(), "{:?}", fetcher.err());
        assert!(medmij_tls::ReqwestOcspFetcher::with_url("http://127.0.0.1:9/").is_ok());
    }
}
