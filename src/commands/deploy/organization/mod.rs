//! `deploy --organization`: [`plan`] decides the StackSet's steps (pure),
//! [`apply`] finds what is there and carries them out.

mod apply;
mod plan;

pub use apply::{apply, prepare, OrgPlan, OrganizationResult};
