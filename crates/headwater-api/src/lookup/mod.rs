//! Lookups and renderings that several route modules and [`crate::publish`] share, so that no
//! route module imports another.

pub(crate) mod assets;
pub(crate) mod entries;
pub(crate) mod orgs;
pub(crate) mod schemas;
pub(crate) mod stacks;
pub(crate) mod taxonomies;
pub(crate) mod tokens;
