//! What `deploy` reports: one value, printed as JSON with `--json` and as
//! text otherwise.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::term::output::table;

#[derive(Debug, Serialize)]
pub struct DeployResult {
    pub stack: String,
    pub region: String,
    pub status: String,
    /// A change set was executed (false: the stack was already up to date).
    pub updated: bool,
    pub outputs: BTreeMap<String, String>,
    pub artifact: ArtifactResult,
    pub secret: SecretResult,
}

#[derive(Debug, Serialize)]
pub struct ArtifactResult {
    pub sha256: String,
    pub size: u64,
    pub rebuilt: bool,
    pub uploaded: bool,
    pub bucket: String,
    pub key: String,
}

/// The secret's ARN and what happened to it; never its value.
#[derive(Debug, Serialize)]
pub struct SecretResult {
    pub arn: String,
    pub created: bool,
    pub updated: bool,
}

impl fmt::Display for DeployResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<(String, String)> = self
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        f.write_str(&table(&rows))
    }
}
