//! The plugin configuration (schema version 1), read and checked once at
//! configure time: readers only (the decisions its policies drive live in
//! `crate::policy`).

pub mod fields;
pub mod models;
pub mod policy;
pub mod projects;

use fields::Fields;
use projects::parse_project;
pub use projects::Project;
use std::rc::Rc;

use crate::aws::auth::UpstreamAuth;
use crate::aws::bearer::BearerToken;
use crate::aws::endpoint::{is_valid_region, Endpoint};
use crate::aws::sigv4::Credentials;
use crate::catalog::declared::validate_all;
use crate::catalog::resolve::Models;
use crate::policy::CredentialSource;
use crate::secret::Key;
use serde_json::Value;

/// Default cap on a request body, in bytes.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Default cap on an upstream answer the filter buffers (a non-streamed or
/// replayed answer, or an error), in bytes. The rewritten answer can be up to
/// about twice as large (tool arguments become escaped JSON strings) and must
/// stay under Envoy's listener buffer limit (8 MiB in the shipped configs).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 3 * 1024 * 1024;
/// Default and largest accepted per-request `timeout`, in seconds.
pub const DEFAULT_MAX_TIMEOUT_SECONDS: u64 = 600;
/// Default of how many upstream calls the filter makes at once for one
/// request (an embeddings batch).
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 8;
/// The Envoy cluster the filter's own calls go through, by default: in the
/// shipped configs, the one to the internal listener `bedrock_callouts`,
/// whose routes send them on as the gateway's own routes do (the dynamic
/// forward proxy, or the endpoint override; Envoy's signer for the calls
/// marked for it).
pub const DEFAULT_UPSTREAM_CLUSTER: &str = "bedrock_callouts";

/// Why a plugin configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON.
    #[error("plugin configuration is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not the schema (unknown field, wrong type, missing field).
    #[error("plugin configuration is not valid: {0}")]
    Schema(String),
    /// The schema version is not one this build understands.
    #[error("plugin configuration version {0} is not supported (expected 1)")]
    Version(u64),
    /// A value is out of its allowed range or shape.
    #[error("plugin configuration: {0}")]
    Invalid(String),
}

/// The proxy's own AWS credentials, for projects with `credentials: environment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentCredentials {
    /// `AWS_BEARER_TOKEN_BEDROCK` (a Bedrock API key, preferred as botocore
    /// does), else `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub auth: UpstreamAuth,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`), used when the caller names none.
    pub region: String,
}

/// Validated plugin configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Projects and their key hashes.
    pub projects: Vec<Rc<Project>>,
    /// The models callers may name: the catalog and the declared ones.
    pub models: Models,
    /// Fixed upstream endpoint; `None` means `bedrock-runtime.<region>.amazonaws.com`.
    pub endpoint: Option<Endpoint>,
    /// Fixed bedrock-mantle endpoint (`upstream.mantle_endpoint`); `None`
    /// means `bedrock-mantle.<region>.api.aws`.
    pub mantle_endpoint: Option<Endpoint>,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// Largest upstream answer buffered for rewriting, in bytes.
    pub max_response_bytes: usize,
    /// Largest `timeout` honoured, in seconds (larger values are capped).
    pub max_timeout_seconds: u64,
    /// Set by [`Config::with_environment`] when a project needs it.
    pub environment: Option<EnvironmentCredentials>,
    /// The Region Envoy's `aws_request_signing` filter signs for (`envoy_signer.region`),
    /// required when a project uses `credentials: envoy`.
    pub envoy_signer_region: Option<String>,
    /// `responses.item_key`: checks the Responses item ids that carry their
    /// item (the same on every gateway of a fleet); without it, no
    /// `item_reference` resolves.
    pub item_key: Option<Key>,
    /// The Envoy cluster of the filter's own calls (`upstream.cluster`);
    /// `{region}` in it stands for the call's Region.
    pub upstream_cluster: String,
    /// How many upstream calls one request may have in flight at once
    /// (`limits.max_concurrent_calls`).
    pub max_concurrent_calls: usize,
}

/// The shortest `responses.item_key`, in bytes.
pub const MIN_ITEM_KEY_BYTES: usize = 32;

impl Config {
    /// Parses and validates the JSON that Envoy hands the plugin.
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_slice(bytes)?;
        let mut f = Fields::new(
            value,
            "",
            &[
                "version",
                "projects",
                "models",
                "upstream",
                "limits",
                "envoy_signer",
                "responses",
            ],
        )
        .map_err(ConfigError::Schema)?;
        let version = f
            .u64("version")
            .map_err(ConfigError::Schema)?
            .ok_or_else(|| ConfigError::Schema(f.missing("version")))?;
        if version != 1 {
            return Err(ConfigError::Version(version));
        }
        let declared = f
            .array("models")
            .map_err(ConfigError::Schema)?
            .unwrap_or_default();
        let declared = models::read_all(declared).map_err(ConfigError::Schema)?;
        let models = Models::new(validate_all(declared).map_err(ConfigError::Invalid)?);
        let projects = read_projects(&mut f, &models)?;
        let Upstream {
            endpoint,
            mantle_endpoint,
            cluster: upstream_cluster,
        } = read_upstream(&mut f)?;
        let envoy_signer_region = read_envoy_signer(&mut f, &projects)?;
        let item_key = read_item_key(&mut f)?;
        let Limits {
            max_request_bytes,
            max_response_bytes,
            max_timeout_seconds,
            max_concurrent_calls,
        } = read_limits(&mut f)?;
        Ok(Config {
            projects,
            models,
            endpoint,
            mantle_endpoint,
            max_request_bytes,
            max_response_bytes,
            max_timeout_seconds,
            environment: None,
            envoy_signer_region,
            item_key,
            upstream_cluster,
            max_concurrent_calls,
        })
    }

    /// The Envoy cluster of the filter's own calls for `region`.
    pub fn callout_cluster(&self, region: &str) -> String {
        self.upstream_cluster.replace("{region}", region)
    }

    /// The upstream timeout of a request that asked for `asked` seconds (or
    /// nothing): at most [`Config::max_timeout_seconds`], which is also the default.
    pub fn timeout(&self, asked: Option<u64>) -> u64 {
        asked
            .unwrap_or(self.max_timeout_seconds)
            .min(self.max_timeout_seconds)
    }

    /// Reads the proxy's AWS credentials through `var` (the VM's environment)
    /// when a project signs with them; refuses the configuration if they are missing.
    pub fn with_environment(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let needed = self
            .projects
            .iter()
            .any(|p| p.policy.credentials == CredentialSource::Environment);
        if !needed {
            return Ok(self);
        }
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let auth = match (
            get("AWS_BEARER_TOKEN_BEDROCK"),
            get("AWS_ACCESS_KEY_ID"),
            get("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(token), _, _) => UpstreamAuth::Bearer(BearerToken::new(token)),
            (None, Some(access_key_id), Some(secret_access_key)) => UpstreamAuth::SigV4(Credentials {
                access_key_id,
                secret_access_key,
                session_token: get("AWS_SESSION_TOKEN"),
            }),
            _ => return Err(ConfigError::Invalid(
                "a project uses credentials \"environment\" but neither AWS_BEARER_TOKEN_BEDROCK nor AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are in the VM's environment (vm_config.environment_variables)".into(),
            )),
        };
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_default();
        if !is_valid_region(&region) {
            return Err(ConfigError::Invalid(
                "a project uses credentials \"environment\" but AWS_REGION is missing or not a region".into(),
            ));
        }
        self.environment = Some(EnvironmentCredentials { auth, region });
        Ok(self)
    }
}

/// Reads `projects`: at least one, names and key hashes unique.
fn read_projects(f: &mut Fields, models: &Models) -> Result<Vec<Rc<Project>>, ConfigError> {
    let raw = f
        .array("projects")
        .map_err(ConfigError::Schema)?
        .ok_or_else(|| ConfigError::Schema(f.missing("projects")))?;
    if raw.is_empty() {
        return Err(ConfigError::Invalid("projects must not be empty".into()));
    }
    let mut projects: Vec<Rc<Project>> = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let p = parse_project(p, i, models)?;
        if projects.iter().any(|q| q.name == p.name) {
            return Err(ConfigError::Invalid(format!(
                "project name {:?} appears twice",
                p.name
            )));
        }
        if let Some(q) = projects.iter().find(|q| q.key_sha256 == p.key_sha256) {
            return Err(ConfigError::Invalid(format!(
                "project {:?} shares its key hash with another project",
                q.name
            )));
        }
        projects.push(Rc::new(p));
    }
    Ok(projects)
}

/// Reads `envoy_signer.region`, required when a project's calls are signed
/// by Envoy (`credentials: envoy`).
fn read_envoy_signer(
    f: &mut Fields,
    projects: &[Rc<Project>],
) -> Result<Option<String>, ConfigError> {
    let region = match f
        .object("envoy_signer", &["region"])
        .map_err(ConfigError::Schema)?
    {
        Some(mut e) => {
            let region = e.required_string("region").map_err(ConfigError::Schema)?;
            if !is_valid_region(&region) {
                return Err(ConfigError::Invalid(format!(
                    "envoy_signer.region {region:?} is not an AWS region"
                )));
            }
            Some(region)
        }
        None => None,
    };
    if region.is_none()
        && projects
            .iter()
            .any(|p| p.policy.credentials == CredentialSource::Envoy)
    {
        return Err(ConfigError::Invalid(
            "a project uses credentials \"envoy\" but envoy_signer.region (the Region of Envoy's aws_request_signing filter) is not set".into(),
        ));
    }
    Ok(region)
}

/// Reads `responses.item_key` (at least [`MIN_ITEM_KEY_BYTES`]).
fn read_item_key(f: &mut Fields) -> Result<Option<Key>, ConfigError> {
    let Some(mut r) = f
        .object("responses", &["item_key"])
        .map_err(ConfigError::Schema)?
    else {
        return Ok(None);
    };
    let key = r.required_string("item_key").map_err(ConfigError::Schema)?;
    if key.len() < MIN_ITEM_KEY_BYTES {
        return Err(ConfigError::Invalid(format!(
            "responses.item_key must be at least {MIN_ITEM_KEY_BYTES} characters"
        )));
    }
    Ok(Some(Key::new(key.as_bytes())))
}

/// The configuration's `limits`, each checked against its range.
struct Limits {
    max_request_bytes: usize,
    max_response_bytes: usize,
    max_timeout_seconds: u64,
    max_concurrent_calls: usize,
}

/// Reads `limits`: each field optional, defaulted, and within its range.
fn read_limits(f: &mut Fields) -> Result<Limits, ConfigError> {
    const MIB_64: u64 = 64 * 1024 * 1024;
    let mut limits = f
        .object(
            "limits",
            &[
                "max_request_bytes",
                "max_response_bytes",
                "max_timeout_seconds",
                "max_concurrent_calls",
            ],
        )
        .map_err(ConfigError::Schema)?;
    let mut limit = |key: &str, default: u64, min: u64, max: u64| {
        let value = match limits.as_mut() {
            Some(l) => l.u64(key).map_err(ConfigError::Schema)?,
            None => None,
        }
        .unwrap_or(default);
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Invalid(format!(
                "limits.{key} must be between {min} and {max}"
            )))
        }
    };
    let max_request_bytes = limit(
        "max_request_bytes",
        DEFAULT_MAX_REQUEST_BYTES as u64,
        1024,
        MIB_64,
    )?;
    let max_response_bytes = limit(
        "max_response_bytes",
        DEFAULT_MAX_RESPONSE_BYTES as u64,
        1024,
        MIB_64,
    )?;
    let max_timeout_seconds = limit("max_timeout_seconds", DEFAULT_MAX_TIMEOUT_SECONDS, 1, 3600)?;
    let max_concurrent_calls = limit(
        "max_concurrent_calls",
        DEFAULT_MAX_CONCURRENT_CALLS as u64,
        1,
        64,
    )?;
    // Each is at most 64 MiB (checked above), so it fits a usize on wasm32.
    Ok(Limits {
        max_request_bytes: max_request_bytes as usize,
        max_response_bytes: max_response_bytes as usize,
        max_timeout_seconds,
        max_concurrent_calls: max_concurrent_calls as usize,
    })
}

/// The configuration's `upstream`: fixed endpoints in place of AWS's, and
/// the Envoy cluster of the filter's own calls.
struct Upstream {
    endpoint: Option<Endpoint>,
    mantle_endpoint: Option<Endpoint>,
    cluster: String,
}

/// Reads `upstream` (every field optional, but not all absent when given).
fn read_upstream(f: &mut Fields) -> Result<Upstream, ConfigError> {
    let Some(mut u) = f
        .object("upstream", &["endpoint", "mantle_endpoint", "cluster"])
        .map_err(ConfigError::Schema)?
    else {
        return Ok(Upstream {
            endpoint: None,
            mantle_endpoint: None,
            cluster: DEFAULT_UPSTREAM_CLUSTER.to_string(),
        });
    };
    let mut parsed = |key: &str| match u.string(key).map_err(ConfigError::Schema)? {
        Some(e) => Endpoint::parse(&e)
            .map(Some)
            .map_err(|why| ConfigError::Invalid(format!("upstream.{key} {why}"))),
        None => Ok(None),
    };
    let (endpoint, mantle_endpoint) = (parsed("endpoint")?, parsed("mantle_endpoint")?);
    let cluster = u.string("cluster").map_err(ConfigError::Schema)?;
    if endpoint.is_none() && mantle_endpoint.is_none() && cluster.is_none() {
        return Err(ConfigError::Schema(
            "upstream needs endpoint, mantle_endpoint or cluster".into(),
        ));
    }
    Ok(Upstream {
        endpoint,
        mantle_endpoint,
        cluster: cluster_name(cluster, "upstream.cluster", DEFAULT_UPSTREAM_CLUSTER)?,
    })
}

/// A cluster name from the configuration, or `default`: 1-256 characters of
/// `[A-Za-z0-9_.:|{}-]` (Istio's `outbound|80||host` names included).
fn cluster_name(given: Option<String>, what: &str, default: &str) -> Result<String, ConfigError> {
    let name = given.unwrap_or_else(|| default.to_string());
    let ok = (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:|{}-".contains(&b));
    if !ok {
        return Err(ConfigError::Invalid(format!(
            "{what} {name:?} must be 1-256 characters of [A-Za-z0-9_.:|{{}}-]"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn cfg(json: &str) -> Result<Config, ConfigError> {
        Config::from_json(json.as_bytes())
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = cfg(&format!(
            r#"{{"version":1,"projects":[{{"name":"alpha","key_sha256":"{HASH}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(c.projects[0].name, "alpha");
        assert_eq!(c.projects[0].key_sha256[0], 0x2c);
        assert_eq!(c.max_request_bytes, DEFAULT_MAX_REQUEST_BYTES);
        assert_eq!(c.max_timeout_seconds, 600);
        assert!(c.endpoint.is_none());
        assert_eq!(c.max_concurrent_calls, DEFAULT_MAX_CONCURRENT_CALLS);
        assert_eq!(c.callout_cluster("eu-west-1"), "bedrock_callouts");
    }

    #[test]
    fn callout_clusters_and_concurrency() {
        let c = cfg(&format!(
            r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{HASH}"}}],
               "upstream":{{"cluster":"outbound|80||bedrock-runtime.{{region}}.amazonaws.com"}},
               "limits":{{"max_concurrent_calls":3}}}}"#
        ))
        .unwrap();
        assert!(c.endpoint.is_none());
        assert_eq!(c.max_concurrent_calls, 3);
        assert_eq!(
            c.callout_cluster("us-west-2"),
            "outbound|80||bedrock-runtime.us-west-2.amazonaws.com"
        );
        let p = format!(r#"[{{"name":"a","key_sha256":"{HASH}"}}]"#);
        for bad in [
            format!(r#"{{"version":1,"projects":{p},"limits":{{"max_concurrent_calls":0}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"limits":{{"max_concurrent_calls":65}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"upstream":{{"cluster":"a b"}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"upstream":{{"cluster":""}}}}"#),
        ] {
            assert!(cfg(&bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn full_config() {
        let c = cfg(&format!(
            r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{HASH}"}}],
               "upstream":{{"endpoint":"http://127.0.0.1:9099"}},
               "limits":{{"max_request_bytes":2048,"max_timeout_seconds":30}}}}"#
        ))
        .unwrap();
        assert_eq!(c.endpoint.unwrap().authority, "127.0.0.1:9099");
        assert!(c.mantle_endpoint.is_none());
        assert_eq!(c.max_request_bytes, 2048);
        assert_eq!(c.max_timeout_seconds, 30);
        let c = cfg(&format!(
            r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{HASH}"}}],
               "upstream":{{"mantle_endpoint":"https://vpce-1.bedrock-mantle.us-east-1.vpce.amazonaws.com"}}}}"#
        ))
        .unwrap();
        assert!(c.endpoint.is_none());
        assert_eq!(
            c.mantle_endpoint.unwrap().authority,
            "vpce-1.bedrock-mantle.us-east-1.vpce.amazonaws.com"
        );
    }

    #[test]
    fn refuses_bad_configs() {
        let p = format!(r#"[{{"name":"a","key_sha256":"{HASH}"}}]"#);
        let bad = [
            "not json".to_string(),
            format!(r#"{{"version":2,"projects":{p}}}"#),
            r#"{"version":1,"projects":[]}"#.to_string(),
            format!(r#"{{"version":1,"projects":{p},"extra":1}}"#),
            r#"{"version":1,"projects":[{"name":"a","key_sha256":"abc"}]}"#.to_string(),
            format!(r#"{{"version":1,"projects":[{{"name":"a b","key_sha256":"{HASH}"}}]}}"#),
            format!(
                r#"{{"version":1,"projects":[{{"name":"a","key_sha256":"{HASH}"}},{{"name":"a","key_sha256":"{}"}}]}}"#,
                "00".repeat(32)
            ),
            format!(r#"{{"version":1,"projects":{p},"upstream":{{"endpoint":"ftp://x"}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"upstream":{{"mantle_endpoint":"h:1"}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"upstream":{{}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"limits":{{"max_timeout_seconds":0}}}}"#),
            format!(r#"{{"version":1,"projects":{p},"limits":{{"bogus":1}}}}"#),
        ];
        for b in bad {
            assert!(cfg(&b).is_err(), "accepted: {b}");
        }
    }
}
