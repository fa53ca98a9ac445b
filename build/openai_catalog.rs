//! The OpenAI-compatible catalog (`src/catalog/openai.json`): models Bedrock
//! serves through its own OpenAI-compatible APIs, or only through an API
//! this gateway does not speak. Checked against models.json (the Converse
//! rows it names, the geo prefixes) and compiled into
//! `$OUT_DIR/openai_catalog.rs`, which `src/catalog/openai.rs` includes.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const FILE: &str = "src/catalog/openai.json";
const APIS: [&str; 2] = ["chat", "responses"];
const TOKEN_FIELDS: [&str; 2] = ["max_completion_tokens", "max_tokens"];
const PREFIXES: [&str; 2] = ["/v1", "/openai/v1"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(dead_code)] // documentation for readers of the file
    about: String,
    sources: BTreeMap<String, String>,
    responses_tools: Tools,
    models: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tools {
    runtime: Vec<String>,
    mantle: Vec<String>,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: String,
    provider: String,
    name: String,
    converse: Option<String>,
    runtime: Option<Runtime>,
    mantle: Option<Mantle>,
    messages: bool,
    /// Regions the sources name for its mantle (or Messages) surface: documentation only.
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    chat_token_fields: Vec<String>,
    #[serde(default)]
    service_tiers: Vec<String>,
    sources: Vec<String>,
    #[allow(dead_code)] // documentation for readers of the file
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Runtime {
    id: String,
    on_demand: bool,
    profiles: Vec<String>,
    apis: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mantle {
    id: String,
    prefix: String,
    apis: Vec<String>,
}

#[derive(Deserialize)]
struct Converse {
    geo_prefixes: Vec<String>,
    models: Vec<ConverseRow>,
}

#[derive(Deserialize)]
struct ConverseRow {
    id: String,
    profiles: Vec<String>,
}

fn apis(values: &[String], id: &str) -> Result<String, String> {
    if values.is_empty() || values.iter().any(|a| !APIS.contains(&a.as_str())) {
        return Err(format!("{id}: apis {values:?} must be some of {APIS:?}"));
    }
    let has = |a: &str| values.iter().any(|v| v == a);
    Ok(format!(
        "Apis {{ chat: {}, responses: {} }}",
        has("chat"),
        has("responses")
    ))
}

fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.contains('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b))
}

/// Every id a caller may send for `r`, with the endpoint that takes it.
fn callable(r: &Row) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(m) = &r.mantle {
        ids.push(m.id.clone());
    }
    if let Some(rt) = &r.runtime {
        if rt.on_demand {
            ids.push(rt.id.clone());
        }
        ids.extend(rt.profiles.iter().map(|g| format!("{g}.{}", rt.id)));
    }
    if r.messages {
        ids.push(r.id.clone());
    }
    ids.sort();
    ids.dedup();
    ids
}

fn row(r: &Row, file: &File, converse: &Converse) -> Result<String, String> {
    let id = r.id.as_str();
    if !id_ok(id) || !id.starts_with(&format!("{}.", r.provider)) || r.name.trim().is_empty() {
        return Err(format!(
            "{id}: not a `<provider>.<model>` id of provider {:?} with a name",
            r.provider
        ));
    }
    if r.sources.is_empty() {
        return Err(format!("{id}: every row needs its sources"));
    }
    if let Some(s) = r.sources.iter().find(|s| !file.sources.contains_key(*s)) {
        return Err(format!("{id}: source {s:?} is not in `sources`"));
    }
    let served = r.runtime.is_some() || r.mantle.is_some();
    if r.messages == served {
        return Err(format!(
            "{id}: a row is served on runtime and/or mantle, or (`messages`) by neither"
        ));
    }
    let region_ok = |g: &String| {
        let parts: Vec<&str> = g.split('-').collect();
        parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    };
    if let Some(g) = r.regions.iter().find(|g| !region_ok(g)) {
        return Err(format!("{id}: {g:?} is not an AWS Region"));
    }
    if !r.regions.is_empty() && r.mantle.is_none() && !r.messages {
        return Err(format!(
            "{id}: regions describe a mantle or Messages surface"
        ));
    }
    if let Some(c) = &r.converse {
        if !converse.models.iter().any(|m| &m.id == c) {
            return Err(format!("{id}: converse {c:?} is not a row of models.json"));
        }
    }
    let runtime = match &r.runtime {
        None => "None".to_string(),
        Some(rt) => {
            if !id_ok(&rt.id) {
                return Err(format!("{id}: runtime id {:?} is not a Bedrock id", rt.id));
            }
            if let Some(g) = rt
                .profiles
                .iter()
                .find(|g| !converse.geo_prefixes.contains(g))
            {
                return Err(format!(
                    "{id}: profile prefix {g:?} is not a geo prefix of models.json"
                ));
            }
            if !rt.on_demand && rt.profiles.is_empty() {
                return Err(format!(
                    "{id}: a runtime id that is not on demand needs a profile"
                ));
            }
            let profiles: Vec<String> = rt.profiles.iter().map(|p| format!("{p:?}")).collect();
            format!(
                "Some(RuntimeSurface {{ id: {:?}, on_demand: {}, profiles: &[{}], apis: {} }})",
                rt.id,
                rt.on_demand,
                profiles.join(", "),
                apis(&rt.apis, id)?
            )
        }
    };
    let mantle = match &r.mantle {
        None => "None".to_string(),
        Some(m) => {
            if !id_ok(&m.id) || !PREFIXES.contains(&m.prefix.as_str()) {
                return Err(format!(
                    "{id}: mantle id {:?} with prefix {:?} (one of {PREFIXES:?})",
                    m.id, m.prefix
                ));
            }
            format!(
                "Some(MantleSurface {{ id: {:?}, prefix: {:?}, apis: {} }})",
                m.id,
                m.prefix,
                apis(&m.apis, id)?
            )
        }
    };
    let fields = if r.messages && r.chat_token_fields.is_empty() {
        vec!["max_tokens".to_string()]
    } else {
        r.chat_token_fields.clone()
    };
    if fields.is_empty() || fields.iter().any(|f| !TOKEN_FIELDS.contains(&f.as_str())) {
        return Err(format!(
            "{id}: chat_token_fields must be some of {TOKEN_FIELDS:?}"
        ));
    }
    let tiers = if r.service_tiers.is_empty() {
        vec!["default".to_string()]
    } else {
        r.service_tiers.clone()
    };
    if !tiers.iter().any(|t| t == "default")
        || tiers
            .iter()
            .any(|t| !["priority", "default", "flex"].contains(&t.as_str()))
    {
        return Err(format!(
            "{id}: service_tiers must hold default (and priority, flex)"
        ));
    }
    let has = |v: &[String], x: &str| v.iter().any(|f| f == x);
    Ok(format!(
        "    OpenAiInfo {{ id: {id:?}, provider: {:?}, name: {:?}, converse: {:?}, runtime: {runtime}, \
mantle: {mantle}, messages: {}, chat_max_completion_tokens: {}, chat_max_tokens: {}, chat_default_field: {:?}, \
service_tiers: ServiceTiers {{ priority: {}, default: true, flex: {} }} }},\n",
        r.provider,
        r.name,
        r.converse,
        r.messages,
        has(&fields, "max_completion_tokens"),
        has(&fields, "max_tokens"),
        fields.first().map(String::as_str).unwrap_or("max_tokens"),
        has(&tiers, "priority"),
        has(&tiers, "flex"),
    ))
}

pub fn generate() -> Result<(), String> {
    println!("cargo:rerun-if-changed={FILE}");
    let text = std::fs::read_to_string(FILE).map_err(|e| format!("{FILE}: {e}"))?;
    let file: File = serde_json::from_str(&text).map_err(|e| format!("{FILE}: {e}"))?;
    let text =
        std::fs::read_to_string(crate::CATALOG).map_err(|e| format!("{}: {e}", crate::CATALOG))?;
    let converse: Converse =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", crate::CATALOG))?;
    if let Some(s) = file
        .responses_tools
        .sources
        .iter()
        .find(|s| !file.sources.contains_key(*s))
    {
        return Err(format!("responses_tools: source {s:?} is not in `sources`"));
    }
    let converse_ids: BTreeSet<String> = converse
        .models
        .iter()
        .flat_map(|m| {
            std::iter::once(m.id.clone()).chain(m.profiles.iter().map(|g| format!("{g}.{}", m.id)))
        })
        .collect();
    let mut rows: Vec<&Row> = file.models.iter().collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for r in &rows {
        for id in callable(r) {
            if let Some(other) = seen.insert(id.clone(), &r.id) {
                return Err(format!(
                    "{id:?} is callable in both {other:?} and {:?}",
                    r.id
                ));
            }
            // An id the Converse catalog serves is Converse's by default:
            // the row must say so (`converse`), and only a declaration moves it.
            let base = id
                .split_once('.')
                .filter(|(g, _)| converse.geo_prefixes.iter().any(|p| p == g));
            let converse_base = if converse_ids.contains(&id) {
                Some(base.map_or(id.as_str(), |(_, b)| b))
            } else {
                None
            };
            if let Some(b) = converse_base {
                if r.converse.as_deref() != Some(b) && r.converse.as_deref() != Some(id.as_str()) {
                    return Err(format!(
                        "{:?}: {id:?} is a Converse id; name its row in `converse`",
                        r.id
                    ));
                }
            }
        }
    }
    if let Some(w) = rows
        .windows(2)
        .find(|w| w.first().map(|a| &a.id) == w.get(1).map(|b| &b.id))
    {
        return Err(format!(
            "{FILE}: {:?} appears twice",
            w.first().map(|a| &a.id)
        ));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Generated by build.rs from {FILE}: do not edit.\n/// Every model of the OpenAI-compatible catalog, sorted by id.\npub static OPENAI_MODELS: [OpenAiInfo; {}] = [",
        rows.len()
    );
    for r in &rows {
        out.push_str(&row(r, &file, &converse)?);
    }
    out.push_str("];\n");
    for (name, what, tools) in [
        (
            "RUNTIME_RESPONSES_TOOLS",
            "bedrock-runtime",
            &file.responses_tools.runtime,
        ),
        (
            "MANTLE_RESPONSES_TOOLS",
            "bedrock-mantle",
            &file.responses_tools.mantle,
        ),
    ] {
        let _ = writeln!(
            out,
            "/// The Responses tool types {what} accepts.\npub const {name}: [&str; {}] = {:?};",
            tools.len(),
            tools
        );
    }
    let dir = std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    std::fs::write(Path::new(&dir).join("openai_catalog.rs"), out)
        .map_err(|e| format!("openai_catalog.rs: {e}"))
}
