//! `tools` and `tool_choice` of a Responses request, and the names they
//! take on Converse.
//!
//! - `function` tools are Converse tools as they are (`strict` kept).
//! - `custom` tools (Codex's freeform tools, e.g. `apply_patch`) take free
//!   text: on Converse, a tool with one string property `input`, the format
//!   (a grammar, when given) written into its description; the model's call
//!   comes back as a `custom_tool_call` with that text.
//! - `namespace` tools group function and custom tools: each becomes a
//!   Converse tool named `<namespace>__<name>` (within Converse's 64
//!   characters of `[a-zA-Z0-9_-]`: longer or other names are shortened and
//!   given a hash), and its calls come back with `name` and `namespace` apart.
//! - `web_search` (and its dated and preview forms), which Codex offers by
//!   default, is dropped: Converse runs no server-side tools, so the model
//!   is simply not offered it. Every other built-in tool is refused.

use crate::api::fields::{is_tool_name, take_opt_string, take_string};
use crate::conversation::tools::{Tool, ToolChoice};
use crate::error::{clip, ApiError, MAX_ECHO_CHARS};
use serde_json::{json, Map, Value};

/// How the answer gives back a call of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `function_call`, its arguments JSON text.
    Function,
    /// `custom_tool_call`, its input free text.
    Custom,
}

/// One tool as the caller named it, and its name on Converse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolName {
    /// The name Converse knows.
    pub converse: String,
    /// The tool's name.
    pub name: String,
    /// Its namespace, for a tool of a `namespace` tool.
    pub namespace: Option<String>,
    /// How its calls come back.
    pub kind: CallKind,
}

/// Every tool of a request, by Converse name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolNames(Vec<ToolName>);

impl ToolNames {
    /// The tool Converse calls `converse`.
    pub fn by_converse(&self, converse: &str) -> Option<&ToolName> {
        self.0.iter().find(|t| t.converse == converse)
    }

    /// The Converse name of tool `name` (of `namespace`), offered or not.
    pub fn converse_name(&self, namespace: Option<&str>, name: &str) -> String {
        self.0
            .iter()
            .find(|t| t.name == name && t.namespace.as_deref() == namespace)
            .map_or_else(|| flatten(namespace, name), |t| t.converse.clone())
    }

    /// Whether a tool of this name (and namespace) is offered as a custom tool.
    pub fn is_custom(&self, namespace: Option<&str>, name: &str) -> bool {
        self.0.iter().any(|t| {
            t.name == name && t.namespace.as_deref() == namespace && t.kind == CallKind::Custom
        })
    }
}

/// The longest tool name Converse takes.
const MAX_NAME: usize = 64;

/// `<namespace>__<name>`, or `name` alone, within Converse's tool-name rule:
/// other characters become `_`, and a name past 64 characters is cut and
/// ends with `_` and 8 hex digits of a hash of the whole.
pub fn flatten(namespace: Option<&str>, name: &str) -> String {
    let whole = match namespace {
        Some(ns) => format!("{ns}__{name}"),
        None => name.to_string(),
    };
    if is_tool_name(&whole) {
        return whole;
    }
    let mut out: String = whole
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.len() > MAX_NAME || out.is_empty() {
        // FNV-1a: a short, stable hash of the whole name.
        let hash = whole.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        out.truncate(MAX_NAME - 9);
        out.push_str(&format!("_{hash:08x}"));
    }
    out
}

/// Built-in tool types Converse cannot run and that no client sends by default.
const REFUSED_BUILT_INS: [&str; 12] = [
    "file_search",
    "computer",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "apply_patch",
    "tool_search",
    "programmatic_tool_calling",
    "image",
];

/// Server-side web search, which Codex offers by default: dropped.
fn is_web_search(kind: &str) -> bool {
    kind.starts_with("web_search")
}

/// Parses `tools` into Converse tools and their names.
pub fn parse_tools(v: Option<Value>) -> Result<(Vec<Tool>, ToolNames), ApiError> {
    let items = match v {
        None | Some(Value::Null) => return Ok((Vec::new(), ToolNames::default())),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::invalid("tools", "`tools` must be an array.")),
    };
    let mut tools = Vec::with_capacity(items.len());
    let mut names = ToolNames::default();
    for (i, t) in items.into_iter().enumerate() {
        let base = format!("tools.[{i}]");
        let Value::Object(mut t) = t else {
            return Err(ApiError::invalid(base, "Each tool must be an object."));
        };
        let kind = take_string(&mut t, "type", &|| format!("{base}.type"))?;
        match kind.as_str() {
            "function" | "custom" => {
                tool(&base, &kind, t, None, &mut tools, &mut names)?;
            }
            "namespace" => {
                let ns = take_string(&mut t, "name", &|| format!("{base}.name"))?;
                let inner = match t.remove("tools") {
                    Some(Value::Array(inner)) => inner,
                    _ => {
                        return Err(ApiError::invalid(
                            format!("{base}.tools"),
                            "A `namespace` tool needs `tools`, an array of function or custom tools.",
                        ))
                    }
                };
                for (j, u) in inner.into_iter().enumerate() {
                    let base = format!("{base}.tools.[{j}]");
                    let Value::Object(mut u) = u else {
                        return Err(ApiError::invalid(base, "Each tool must be an object."));
                    };
                    let kind = take_string(&mut u, "type", &|| format!("{base}.type"))?;
                    if kind != "function" && kind != "custom" {
                        return Err(ApiError::invalid(
                            format!("{base}.type"),
                            "A namespace holds `function` and `custom` tools only.",
                        ));
                    }
                    tool(&base, &kind, u, Some(&ns), &mut tools, &mut names)?;
                }
            }
            k if is_web_search(k) => {}
            k if REFUSED_BUILT_INS.contains(&k) => {
                return Err(ApiError::invalid(
                    format!("{base}.type"),
                    format!("Bedrock runs no built-in `{k}` tool; offer a `function` tool the caller runs instead."),
                ))
            }
            other => {
                return Err(ApiError::invalid(
                    format!("{base}.type"),
                    format!(
                        "Tool type `{}` is not supported: send `function`, `custom` or `namespace` tools.",
                        clip(other, MAX_ECHO_CHARS)
                    ),
                ))
            }
        }
    }
    Ok((tools, names))
}

/// One `function` or `custom` tool (of `namespace`, if any).
fn tool(
    base: &str,
    kind: &str,
    mut t: Map<String, Value>,
    namespace: Option<&str>,
    tools: &mut Vec<Tool>,
    names: &mut ToolNames,
) -> Result<(), ApiError> {
    let name = take_string(&mut t, "name", &|| format!("{base}.name"))?;
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::invalid(
            format!("{base}.name"),
            "A tool's name must be 1-128 characters.",
        ));
    }
    let description = take_opt_string(&mut t, "description", &|| format!("{base}.description"))?
        .filter(|d| !d.trim().is_empty());
    let converse = flatten(namespace, &name);
    if namespace.is_none() && converse != name {
        return Err(ApiError::invalid(
            format!("{base}.name"),
            format!(
                "Tool name `{}` must be 1-64 characters of [a-zA-Z0-9_-] (Bedrock's rule).",
                clip(&name, MAX_ECHO_CHARS)
            ),
        ));
    }
    if names.by_converse(&converse).is_some() {
        return Err(ApiError::invalid(
            "tools",
            format!("Tool `{}` is defined twice.", clip(&name, MAX_ECHO_CHARS)),
        ));
    }
    let (parameters, strict, call) = if kind == "function" {
        let parameters = match t.remove("parameters") {
            None | Some(Value::Null) => json!({"type": "object"}),
            Some(p @ Value::Object(_)) => p,
            Some(_) => {
                return Err(ApiError::invalid(
                    format!("{base}.parameters"),
                    "`parameters` must be a JSON schema object.",
                ))
            }
        };
        let strict = match t.remove("strict") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                return Err(ApiError::invalid(
                    format!("{base}.strict"),
                    "`strict` must be a boolean.",
                ))
            }
        };
        (parameters, strict, CallKind::Function)
    } else {
        let format = custom_format(base, t.remove("format"))?;
        let input = match format {
            Some(grammar) => {
                format!("The tool's input, as free text that follows this grammar:\n{grammar}")
            }
            None => "The tool's input, as free text.".to_string(),
        };
        let parameters = json!({
            "type": "object",
            "properties": {"input": {"type": "string", "description": input}},
            "required": ["input"],
        });
        (parameters, None, CallKind::Custom)
    };
    names.0.push(ToolName {
        converse: converse.clone(),
        name,
        namespace: namespace.map(str::to_string),
        kind: call,
    });
    tools.push(Tool {
        name: converse,
        description,
        parameters,
        strict,
        cache: None,
    });
    Ok(())
}

/// A custom tool's `format`: free text (`None`), or a grammar, written out.
fn custom_format(base: &str, v: Option<Value>) -> Result<Option<String>, ApiError> {
    let mut f = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(f)) => f,
        Some(_) => {
            return Err(ApiError::invalid(
                format!("{base}.format"),
                "`format` must be an object.",
            ))
        }
    };
    match take_string(&mut f, "type", &|| format!("{base}.format.type"))?.as_str() {
        "text" => Ok(None),
        "grammar" => {
            let syntax = take_string(&mut f, "syntax", &|| format!("{base}.format.syntax"))?;
            let definition = take_string(&mut f, "definition", &|| {
                format!("{base}.format.definition")
            })?;
            Ok(Some(format!("({syntax} grammar)\n{definition}")))
        }
        _ => Err(ApiError::invalid(
            format!("{base}.format.type"),
            "A custom tool's `format.type` must be text or grammar.",
        )),
    }
}

/// Parses `tool_choice`: `auto`, `required`, `none`, or a named function or custom tool.
pub fn parse_tool_choice(
    v: Option<Value>,
    names: &ToolNames,
    has_tools: bool,
) -> Result<Option<ToolChoice>, ApiError> {
    let choice = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            "none" => ToolChoice::None,
            _ => return Err(ApiError::invalid(
                "tool_choice",
                "`tool_choice` must be auto, required, none, or a named function or custom tool.",
            )),
        },
        Some(Value::Object(mut o)) => {
            let kind = take_string(&mut o, "type", &|| "tool_choice.type".into())?;
            if kind != "function" && kind != "custom" {
                return Err(ApiError::invalid(
                    "tool_choice.type",
                    format!(
                        "`tool_choice` may name a function or custom tool, not `{}`.",
                        clip(&kind, MAX_ECHO_CHARS)
                    ),
                ));
            }
            let name = take_string(&mut o, "name", &|| "tool_choice.name".into())?;
            let namespace =
                take_opt_string(&mut o, "namespace", &|| "tool_choice.namespace".into())?;
            let converse = names.converse_name(namespace.as_deref(), &name);
            if names.by_converse(&converse).is_none() {
                return Err(ApiError::invalid(
                    "tool_choice.name",
                    format!(
                        "`tool_choice` names `{}`, which is not in `tools`.",
                        clip(&name, MAX_ECHO_CHARS)
                    ),
                ));
            }
            ToolChoice::Function(converse)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "tool_choice",
                "`tool_choice` must be a string or an object.",
            ))
        }
    };
    if !has_tools && matches!(choice, ToolChoice::Required | ToolChoice::Function(_)) {
        return Err(ApiError::invalid(
            "tool_choice",
            "`tool_choice` asks for a tool call, but `tools` offers none.",
        ));
    }
    Ok(Some(choice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_names_keep_converse_s_rule() {
        assert_eq!(flatten(None, "get_weather"), "get_weather");
        assert_eq!(
            flatten(Some("multi_agent_v1"), "spawn_agent"),
            "multi_agent_v1__spawn_agent"
        );
        let odd = flatten(Some("my.tools"), "do it");
        assert!(is_tool_name(&odd), "{odd}");
        let long = flatten(Some(&"n".repeat(60)), "tool");
        assert!(is_tool_name(&long) && long.len() == 64, "{long}");
        assert_ne!(
            long,
            flatten(Some(&"n".repeat(61)), "tool"),
            "different names, different hashes"
        );
    }

    #[test]
    fn tools_of_every_kind() {
        let (tools, names) = parse_tools(Some(json!([
            {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": true},
            {"type": "custom", "name": "apply_patch", "description": "Patch files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            {"type": "namespace", "name": "ns", "description": "d",
             "tools": [{"type": "function", "name": "g", "strict": false}]},
            {"type": "web_search", "external_web_access": false}
        ])))
        .unwrap();
        let converse: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(converse, ["f", "apply_patch", "ns__g"]);
        assert_eq!(tools[0].strict, Some(true));
        let patch = &tools[1].parameters["properties"]["input"]["description"];
        assert!(patch.as_str().unwrap().contains("(lark grammar)\nstart: x"));
        let g = names.by_converse("ns__g").unwrap();
        assert_eq!(
            (g.name.as_str(), g.namespace.as_deref(), g.kind),
            ("g", Some("ns"), CallKind::Function)
        );
        assert_eq!(
            names.by_converse("apply_patch").unwrap().kind,
            CallKind::Custom
        );
        assert_eq!(names.converse_name(Some("ns"), "g"), "ns__g");
        assert!(names.is_custom(None, "apply_patch"));
    }

    #[test]
    fn refusals_name_their_param() {
        for (tools, param) in [
            (
                json!([{"type": "code_interpreter", "container": "auto"}]),
                "tools.[0].type",
            ),
            (
                json!([{"type": "function", "name": "a b"}]),
                "tools.[0].name",
            ),
            (
                json!([{"type": "function", "name": "f"}, {"type": "function", "name": "f"}]),
                "tools",
            ),
            (
                json!([{"type": "namespace", "name": "n", "tools": [{"type": "mcp"}]}]),
                "tools.[0].tools.[0].type",
            ),
            (
                json!([{"type": "custom", "name": "c", "format": {"type": "regex"}}]),
                "tools.[0].format.type",
            ),
            (json!([{"type": "nope"}]), "tools.[0].type"),
        ] {
            let e = parse_tools(Some(tools.clone())).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{tools}");
        }
    }

    #[test]
    fn tool_choices() {
        let (_, names) = parse_tools(Some(json!([
            {"type": "function", "name": "f"},
            {"type": "namespace", "name": "ns", "description": "", "tools": [{"type": "custom", "name": "c"}]}
        ])))
        .unwrap();
        let pick = |v: Value| parse_tool_choice(Some(v), &names, true);
        assert_eq!(pick(json!("required")).unwrap(), Some(ToolChoice::Required));
        assert_eq!(
            pick(json!({"type": "function", "name": "f"})).unwrap(),
            Some(ToolChoice::Function("f".into()))
        );
        assert_eq!(
            pick(json!({"type": "custom", "name": "c", "namespace": "ns"})).unwrap(),
            Some(ToolChoice::Function("ns__c".into()))
        );
        assert!(pick(json!({"type": "function", "name": "g"})).is_err());
        assert!(pick(json!({"type": "allowed_tools", "mode": "auto", "tools": []})).is_err());
        assert!(pick(json!("sometimes")).is_err());
        assert!(parse_tool_choice(Some(json!("required")), &ToolNames::default(), false).is_err());
    }
}
