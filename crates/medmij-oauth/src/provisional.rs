//! The 2.x values the MedMij rulebook marks **provisional**, in one place, each with the
//! rulebook's default ("Releases, side by side"): change them here or per server with
//! [`V2Config`].

use std::time::Duration;

/// Default validity of a refresh token from its issue: six months, 15,811,200 s = 183 days
/// (provisional, MedMij OAUTH-19).
pub const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(15_811_200);

/// Default path of the consent-management entry point, next to the authorization endpoint
/// (provisional, MedMij OAUTH-22).
pub const DEFAULT_CONSENT_MANAGEMENT_PATH: &str = "toestemmingen";

/// The provisional 2.x settings of a server or client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Config {
    /// How long a refresh token is valid from its issue (MedMij OAUTH-19); default
    /// [`DEFAULT_REFRESH_LIFETIME`].
    pub refresh_lifetime: Duration,
    /// The last path segment of the consent-management entry point, replacing that of the
    /// authorization endpoint (MedMij OAUTH-22); default [`DEFAULT_CONSENT_MANAGEMENT_PATH`].
    pub consent_management_path: String,
}

impl Default for V2Config {
    fn default() -> Self {
        Self {
            refresh_lifetime: DEFAULT_REFRESH_LIFETIME,
            consent_management_path: DEFAULT_CONSENT_MANAGEMENT_PATH.to_owned(),
        }
    }
}

/// The provisional `error_description` texts of MedMij OAUTH-23 (besides the 1.x texts).
pub mod failure_description {
    /// A parameter of the request is invalid: `invalid parameter <name>`.
    pub fn invalid_parameter(name: &str) -> String {
        format!("invalid parameter {name}")
    }
    /// The authentication failed.
    pub const AUTHENTICATION_FAILED: &str = "authentication failed";
    /// The availability check failed.
    pub const AVAILABILITY_CHECK_FAILED: &str = "availability check failed";
}
