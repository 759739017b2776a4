//! MedMij UCI Verzamelen and UCI Delen OAuth state machines (rules OAUTH-1..14), both gateway roles.
//!
//! Work in progress: see the project's open issues.
