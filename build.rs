//! Compiles the model catalog (`src/catalog/models.json`) into a static,
//! id-sorted table (`$OUT_DIR/catalog.rs`) that `src/catalog/mod.rs`
//! includes: no parsing at start-up, a binary search per request. A row
//! that breaks the catalog's rules fails the build with a message.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const CATALOG: &str = "src/catalog/models.json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(dead_code)] // documentation for readers of the file
    about: String,
    sources: BTreeMap<String, String>,
    /// Geo prefixes of system-defined cross-region inference profiles.
    geo_prefixes: Vec<String>,
    /// Keys of `sources` the geo prefixes come from.
    geo_prefixes_sources: Vec<String>,
    models: Vec<Row>,
    /// Embedding models (InvokeModel), rows of their own schema.
    embedding_models: Vec<EmbeddingRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbeddingRow {
    id: String,
    kind: String,
    provider: String,
    name: String,
    family: String,
    on_demand: bool,
    profiles: Vec<String>,
    inputs_per_call: u16,
    dimensions: Vec<u16>,
    default_dimensions: u16,
    max_input_chars: Option<u32>,
    max_input_tokens: u32,
    input_type: bool,
    legacy: bool,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: String,
    provider: String,
    name: String,
    on_demand: bool,
    profiles: Vec<String>,
    system: bool,
    tools: bool,
    tools_streaming: bool,
    tool_choice: Vec<String>,
    images: bool,
    documents: bool,
    citations: bool,
    reasoning: Option<String>,
    structured_output: bool,
    strict_tools: bool,
    prompt_caching: Vec<String>,
    cache_ttl_1h: bool,
    max_stop_sequences: u8,
    sampling: String,
    prefill: bool,
    latency_optimized: bool,
    service_tiers: Vec<String>,
    legacy: bool,
    sources: Vec<String>,
}

fn variant(value: &str, allowed: &[(&str, &str)], what: &str, id: &str) -> Result<String, String> {
    allowed
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, rust)| (*rust).to_string())
        .ok_or_else(|| format!("{id}: {what} {value:?} is not one of {allowed:?}"))
}

fn flags(values: &[String], allowed: &[&str], what: &str, id: &str) -> Result<Vec<bool>, String> {
    for v in values {
        if !allowed.contains(&v.as_str()) {
            return Err(format!("{id}: {what} {v:?} is not one of {allowed:?}"));
        }
    }
    Ok(allowed
        .iter()
        .map(|a| values.iter().any(|v| v == a))
        .collect())
}

fn id_ok(id: &str, geos: &[String]) -> bool {
    // Bedrock's `<provider>.<model>` ids: lower-case letters, digits, `-`, `.` and `:`.
    let mut parts = id.splitn(2, '.');
    let provider = parts.next().unwrap_or("");
    let model = parts.next().unwrap_or("");
    !provider.is_empty()
        && !model.is_empty()
        && !geos.iter().any(|g| g == provider)
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b))
}

fn row(r: &Row, file: &File) -> Result<String, String> {
    let sources = &file.sources;
    let geos = &file.geo_prefixes;
    let id = r.id.as_str();
    if !id_ok(id, geos) || !id.starts_with(&format!("{}.", r.provider)) {
        return Err(format!(
            "{id}: not a `<provider>.<model>` id of provider {:?}",
            r.provider
        ));
    }
    if r.name.trim().is_empty() || r.sources.is_empty() {
        return Err(format!("{id}: every row needs a name and its sources"));
    }
    if let Some(s) = r.sources.iter().find(|s| !sources.contains_key(*s)) {
        return Err(format!("{id}: source {s:?} is not in `sources`"));
    }
    if (r.tools_streaming || !r.tool_choice.is_empty()) && !r.tools {
        return Err(format!("{id}: tools_streaming and tool_choice need tools"));
    }
    if r.max_stop_sequences > 4 {
        return Err(format!(
            "{id}: max_stop_sequences is capped at 4 (OpenAI's own limit)"
        ));
    }
    if r.cache_ttl_1h && r.prompt_caching.is_empty() {
        return Err(format!("{id}: cache_ttl_1h needs prompt_caching"));
    }
    if !r.service_tiers.iter().any(|t| t == "default") {
        return Err(format!("{id}: every model serves the default tier"));
    }
    if let Some(g) = r.profiles.iter().find(|g| !geos.contains(g)) {
        return Err(format!("{id}: profile prefix {g:?} is not one of {geos:?}"));
    }
    if !r.on_demand && r.profiles.is_empty() {
        return Err(format!(
            "{id}: a model that is not on demand needs a profile"
        ));
    }
    let choice = flags(&r.tool_choice, &["auto", "any", "tool"], "tool_choice", id)?;
    let cache = flags(
        &r.prompt_caching,
        &["system", "messages", "tools"],
        "prompt_caching",
        id,
    )?;
    let tiers = flags(
        &r.service_tiers,
        &["priority", "default", "flex"],
        "service tier",
        id,
    )?;
    let reasoning = match &r.reasoning {
        None => "None".to_string(),
        Some(kind) => format!(
            "Some(Reasoning::{})",
            variant(
                kind,
                &[
                    ("anthropic_budget", "AnthropicBudget"),
                    ("anthropic_adaptive", "AnthropicAdaptive"),
                    ("nova", "Nova"),
                    ("openai_effort", "OpenAiEffort"),
                    ("deepseek_always", "DeepSeekAlways"),
                    ("deepseek_hybrid", "DeepSeekHybrid"),
                ],
                "reasoning",
                id
            )?
        ),
    };
    let sampling = variant(
        &r.sampling,
        &[
            ("any", "Any"),
            ("temperature_or_top_p", "TemperatureOrTopP"),
            ("none", "None"),
        ],
        "sampling",
        id,
    )?;
    let profiles: Vec<String> = r.profiles.iter().map(|p| format!("{p:?}")).collect();
    let b = |v: &[bool], i: usize| v.get(i).copied().unwrap_or(false);
    Ok(format!(
        "    ModelInfo {{ id: {id:?}, provider: {provider:?}, name: {name:?}, on_demand: {on_demand}, \
profiles: &[{profiles}], system_prompt: {system}, tools: {tools}, tools_streaming: {tools_streaming}, \
tool_choice: ToolChoiceKinds {{ auto: {c0}, any: {c1}, tool: {c2} }}, images: {images}, documents: {documents}, \
citations: {citations}, reasoning: {reasoning}, structured_output: {so}, strict_tools: {st}, \
prompt_caching: CachePositions {{ system: {k0}, messages: {k1}, tools: {k2} }}, cache_ttl_1h: {ttl}, \
max_stop_sequences: {stops}, sampling: SamplingRule::{sampling}, prefill: {prefill}, latency_optimized: {lat}, \
service_tiers: ServiceTiers {{ priority: {t0}, default: {t1}, flex: {t2} }}, legacy: {legacy} }},\n",
        provider = r.provider,
        name = r.name,
        on_demand = r.on_demand,
        profiles = profiles.join(", "),
        system = r.system,
        tools = r.tools,
        tools_streaming = r.tools_streaming,
        c0 = b(&choice, 0),
        c1 = b(&choice, 1),
        c2 = b(&choice, 2),
        images = r.images,
        documents = r.documents,
        citations = r.citations,
        so = r.structured_output,
        st = r.strict_tools,
        k0 = b(&cache, 0),
        k1 = b(&cache, 1),
        k2 = b(&cache, 2),
        ttl = r.cache_ttl_1h,
        stops = r.max_stop_sequences,
        prefill = r.prefill,
        lat = r.latency_optimized,
        t0 = b(&tiers, 0),
        t1 = b(&tiers, 1),
        t2 = b(&tiers, 2),
        legacy = r.legacy,
    ))
}

/// The body families of InvokeModel embedding models: (name in the file,
/// Rust variant, takes an input type or purpose, inputs per call).
const FAMILIES: &[(&str, &str, bool, u16)] = &[
    ("titan-v2", "TitanV2", false, 1),
    ("titan-g1", "TitanG1", false, 1),
    ("cohere-v3", "CohereV3", true, 96),
    ("cohere-v4", "CohereV4", true, 96),
    ("nova", "Nova", true, 1),
];

fn embedding_row(r: &EmbeddingRow, file: &File) -> Result<String, String> {
    let id = r.id.as_str();
    if r.kind != "embedding" {
        return Err(format!(
            "{id}: an embedding_models row has kind \"embedding\""
        ));
    }
    if !id_ok(id, &file.geo_prefixes) || !id.starts_with(&format!("{}.", r.provider)) {
        return Err(format!(
            "{id}: not a `<provider>.<model>` id of provider {:?}",
            r.provider
        ));
    }
    if r.name.trim().is_empty() || r.sources.is_empty() {
        return Err(format!("{id}: every row needs a name and its sources"));
    }
    if let Some(s) = r.sources.iter().find(|s| !file.sources.contains_key(*s)) {
        return Err(format!("{id}: source {s:?} is not in `sources`"));
    }
    let Some((_, variant, input_type, per_call)) =
        FAMILIES.iter().find(|(name, ..)| *name == r.family)
    else {
        return Err(format!(
            "{id}: family {:?} is not one of {FAMILIES:?}",
            r.family
        ));
    };
    if r.input_type != *input_type || r.inputs_per_call != *per_call {
        return Err(format!(
            "{id}: family {} takes input_type {input_type} and {per_call} input(s) per call",
            r.family
        ));
    }
    if r.dimensions.is_empty() || !r.dimensions.contains(&r.default_dimensions) {
        return Err(format!(
            "{id}: default_dimensions must be one of `dimensions`"
        ));
    }
    if r.dimensions.windows(2).any(|w| w.first() >= w.get(1)) {
        return Err(format!("{id}: dimensions are listed in increasing order"));
    }
    if let Some(g) = r.profiles.iter().find(|g| !file.geo_prefixes.contains(g)) {
        return Err(format!("{id}: profile prefix {g:?} is not a geo prefix"));
    }
    if !r.on_demand && r.profiles.is_empty() {
        return Err(format!(
            "{id}: a model that is not on demand needs a profile"
        ));
    }
    let profiles: Vec<String> = r.profiles.iter().map(|p| format!("{p:?}")).collect();
    let max_chars = match r.max_input_chars {
        Some(n) => format!("Some({n})"),
        None => "None".to_string(),
    };
    Ok(format!(
        "    EmbeddingInfo {{ id: {id:?}, provider: {provider:?}, name: {name:?}, family: EmbeddingFamily::{variant}, \
on_demand: {on_demand}, profiles: &[{profiles}], inputs_per_call: {per_call}, dimensions: &{dims:?}, \
default_dimensions: {default}, max_input_chars: {max_chars}, max_input_tokens: {tokens}, legacy: {legacy} }},\n",
        provider = r.provider,
        name = r.name,
        on_demand = r.on_demand,
        profiles = profiles.join(", "),
        dims = r.dimensions,
        default = r.default_dimensions,
        tokens = r.max_input_tokens,
        legacy = r.legacy,
    ))
}

fn generate() -> Result<(), String> {
    println!("cargo:rerun-if-changed={CATALOG}");
    let text = std::fs::read_to_string(CATALOG).map_err(|e| format!("{CATALOG}: {e}"))?;
    let file: File = serde_json::from_str(&text).map_err(|e| format!("{CATALOG}: {e}"))?;
    if let Some(s) = file
        .geo_prefixes_sources
        .iter()
        .find(|s| !file.sources.contains_key(*s))
    {
        return Err(format!("geo_prefixes: source {s:?} is not in `sources`"));
    }
    let mut models: Vec<&Row> = file.models.iter().collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = models
        .windows(2)
        .find(|w| w.first().map(|a| &a.id) == w.get(1).map(|b| &b.id))
    {
        return Err(format!(
            "{CATALOG}: {:?} appears twice",
            w.first().map(|a| &a.id)
        ));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Generated by build.rs from {CATALOG}: do not edit.\n/// Every catalog model, sorted by id.\npub static MODELS: [ModelInfo; {}] = [",
        models.len()
    );
    for r in &models {
        out.push_str(&row(r, &file)?);
    }
    out.push_str("];\n");
    let mut embeddings: Vec<&EmbeddingRow> = file.embedding_models.iter().collect();
    embeddings.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = embeddings
        .windows(2)
        .find(|w| w.first().map(|a| &a.id) == w.get(1).map(|b| &b.id))
    {
        return Err(format!(
            "{CATALOG}: {:?} appears twice",
            w.first().map(|a| &a.id)
        ));
    }
    if let Some(e) = embeddings
        .iter()
        .find(|e| models.iter().any(|m| m.id == e.id))
    {
        return Err(format!(
            "{CATALOG}: {:?} is both a chat and an embedding model",
            e.id
        ));
    }
    let _ = writeln!(
        out,
        "/// Every embedding model, sorted by id.\npub static EMBEDDING_MODELS: [EmbeddingInfo; {}] = [",
        embeddings.len()
    );
    for r in &embeddings {
        out.push_str(&embedding_row(r, &file)?);
    }
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "/// Geo prefixes of cross-region inference profiles (`us.` + a base id).\npub const GEO_PREFIXES: [&str; {}] = {:?};",
        file.geo_prefixes.len(),
        file.geo_prefixes
    );
    let dir = std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    std::fs::write(Path::new(&dir).join("catalog.rs"), out).map_err(|e| format!("catalog.rs: {e}"))
}

fn main() {
    if let Err(e) = generate() {
        eprintln!("error: model catalog: {e}");
        std::process::exit(1);
    }
    if let Err(e) = openai::generate() {
        eprintln!("error: OpenAI-compatible catalog: {e}");
        std::process::exit(1);
    }
    // The dynamic module (--features native, src/native/): bind every
    // callback it imports from Envoy when Envoy loads it (`-z now`), so that
    // one Envoy lacks fails the load with the symbol's name, never a request.
    let native = std::env::var_os("CARGO_FEATURE_NATIVE").is_some();
    if native && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,now");
    }
}

// The OpenAI-compatible catalog (src/catalog/openai.json), checked against
// models.json and compiled the same way.
#[path = "build/openai_catalog.rs"]
mod openai;
