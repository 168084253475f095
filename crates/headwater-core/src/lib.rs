//! Headwater's domain: identifiers, credentials and their secrets, the one authorization
//! policy, and the validation rules shared by every transport. Nothing here does I/O.

pub mod branch_merge;
pub mod cidr;
pub mod clock;
pub mod content;
pub mod ids;
pub mod password;
pub mod policy;
pub mod query;
pub mod ratelimit;
pub mod scope;
pub mod sealing;
pub mod secret;
pub mod sigv4;
pub mod taxonomy;
pub mod throttle;
pub mod totp;
