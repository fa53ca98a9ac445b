//! Structured output, prompt caching, documents and tool results with media:
//! OpenAI request → Converse, and the answers they shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bedrock_openai_filter::api::chat::chunks::StreamContext;
use bedrock_openai_filter::api::chat::completion::{to_chat_completion, ResponseContext};
use bedrock_openai_filter::api::chat::replay;
use bedrock_openai_filter::api::chat::stream::StreamTranslator;
use bedrock_openai_filter::conversation::converse::{
    DOCUMENT_TEXT, JSON_OBJECT_INSTRUCTION, MAX_CACHE_POINTS,
};
use serde_json::{json, Value};

mod support;
use support::{event_frame, refused, translate_with, translated};

const NATIVE: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const BY_TOOL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const NOVA: &str = "amazon.nova-pro-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const PDF: &str = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK";

fn schema_format() -> Value {
    json!({"type": "json_schema", "json_schema": {"name": "person", "description": "A person",
        "schema": {"type": "object", "properties": {"name": {"type": "string"},
                   "pets": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "string"}}}}},
                   "required": ["name"]}, "strict": true}})
}

fn body(model: &str, extra: Value) -> Value {
    let mut b = json!({"model": model, "messages": [{"role": "user", "content": "Describe Ann."}]});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[test]
fn json_schema_is_native_output_where_the_model_has_it() {
    let c = translated(body(NATIVE, json!({"response_format": schema_format()})));
    let format = &c["outputConfig"]["textFormat"];
    assert_eq!(format["type"], "json_schema");
    let def = &format["structure"]["jsonSchema"];
    assert_eq!(
        (def["name"].as_str(), def["description"].as_str()),
        (Some("person"), Some("A person"))
    );
    let schema: Value = serde_json::from_str(def["schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["pets"]["items"]["additionalProperties"],
        false
    );
    assert!(c.get("toolConfig").is_none());
}

#[test]
fn json_schema_is_a_forced_tool_elsewhere() {
    let c = translated(body(BY_TOOL, json!({"response_format": schema_format()})));
    assert!(c.get("outputConfig").is_none());
    let config = &c["toolConfig"];
    assert_eq!(config["toolChoice"], json!({"tool": {"name": "person"}}));
    assert_eq!(config["tools"][0]["toolSpec"]["name"], "person");
    assert_eq!(
        config["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"],
        json!(["name"])
    );
    // Mistral Large takes `any` but no named tool: one tool, forced with any.
    let c = translated(body(
        "mistral.mistral-large-2402-v1:0",
        json!({"response_format": schema_format()}),
    ));
    assert_eq!(c["toolConfig"]["toolChoice"], json!({"any": {}}));
}

#[test]
fn json_schema_refusals() {
    for (model, extra) in [
        (LLAMA, json!({"response_format": schema_format()})),
        (
            "us.meta.llama3-1-70b-instruct-v1:0",
            json!({"response_format": schema_format()}),
        ),
        (
            BY_TOOL,
            json!({"response_format": schema_format(), "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}),
        ),
        (
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            json!({"response_format": schema_format(), "reasoning_effort": "low"}),
        ),
        (NATIVE, json!({"response_format": {"type": "xml"}})),
        (
            NATIVE,
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}}),
        ),
    ] {
        let e = refused(body(model, extra.clone()));
        assert_eq!(e.status, 400, "{model} {extra}");
        assert!(
            e.param.as_deref().unwrap().starts_with("response_format"),
            "{model} {extra}: {e}"
        );
    }
}

#[test]
fn json_object_is_an_instruction_for_every_model() {
    let c = translated(body(
        NATIVE,
        json!({"response_format": {"type": "json_object"}}),
    ));
    assert_eq!(c["system"], json!([{"text": JSON_OBJECT_INSTRUCTION}]));
    let c = translated(body(
        "amazon.titan-text-express-v1",
        json!({"response_format": {"type": "json_object"}}),
    ));
    assert_eq!(
        c["messages"][0]["content"][0]["text"], JSON_OBJECT_INSTRUCTION,
        "no system prompt: first in the turn"
    );
    // A schema without `schema` is a JSON object too.
    let c = translated(body(
        LLAMA,
        json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}),
    ));
    assert_eq!(c["system"], json!([{"text": JSON_OBJECT_INSTRUCTION}]));
}

#[test]
fn strict_tools_only_where_the_model_takes_them() {
    let tools = json!([{"type": "function", "function": {"name": "f", "strict": true, "parameters": {"type": "object"}}}]);
    let c = translated(body(NATIVE, json!({"tools": tools})));
    assert_eq!(c["toolConfig"]["tools"][0]["toolSpec"]["strict"], true);
    let c = translated(body(BY_TOOL, json!({"tools": tools})));
    assert!(c["toolConfig"]["tools"][0]["toolSpec"]
        .get("strict")
        .is_none());
}

#[test]
fn value_bounds_become_words_and_strict_tools_close_their_objects() {
    let bounded = json!({"type": "object", "properties": {
        "age": {"type": "integer", "minimum": 0, "maximum": 150, "description": "Years"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "minItems": 1, "maxItems": 5},
        "codes": {"type": "array", "items": {"type": "string"}, "minItems": 2}}});
    let format = json!({"type": "json_schema", "json_schema": {"name": "p", "schema": bounded}});
    let c = translated(body(NATIVE, json!({"response_format": format})));
    let def = &c["outputConfig"]["textFormat"]["structure"]["jsonSchema"];
    let schema: Value = serde_json::from_str(def["schema"].as_str().unwrap()).unwrap();
    let age = &schema["properties"]["age"];
    assert_eq!(
        age,
        &json!({"type": "integer", "description": "Years (minimum 0, maximum 150)"})
    );
    let tags = &schema["properties"]["tags"];
    assert_eq!(tags["minItems"], 1, "minItems 0 or 1 is taken");
    assert_eq!(tags["description"], "maxItems 5");
    assert_eq!(
        tags["items"],
        json!({"type": "string", "description": "maxLength 20"})
    );
    assert_eq!(schema["properties"]["codes"]["description"], "minItems 2");
    assert!(schema["properties"]["codes"].get("minItems").is_none());
    // The same rules for a strict tool; a tool that is not strict is left as it came.
    let tools = |strict: bool| {
        json!([{"type": "function", "function": {"name": "f", "strict": strict,
        "parameters": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}}}])
    };
    let c = translated(body(NATIVE, json!({"tools": tools(true)})));
    let sent = &c["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"];
    assert_eq!(sent["additionalProperties"], false);
    assert_eq!(
        sent["properties"]["n"],
        json!({"type": "integer", "description": "minimum 1"})
    );
    let c = translated(body(NATIVE, json!({"tools": tools(false)})));
    let sent = &c["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"];
    assert!(sent.get("additionalProperties").is_none());
    assert_eq!(sent["properties"]["n"]["minimum"], 1);
}

// ---------------------------------------------------------------- answers by tool

fn tool_answer() -> Vec<u8> {
    json!({"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t1", "name": "person", "input": {"name": "Ann", "pets": []}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}})
    .to_string()
    .into_bytes()
}

#[test]
fn the_answer_tools_input_is_the_content() {
    let ctx = ResponseContext {
        id: "c",
        model: BY_TOOL,
        created: 1,
        answer_tool: Some("person"),
    };
    let (out, summary) = to_chat_completion(&tool_answer(), &ctx).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(summary.finish_reason, Some("stop"));
    assert!(choice["message"].get("tool_calls").is_none());
    let content: Value =
        serde_json::from_str(choice["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"name": "Ann", "pets": []}));
    // Without it the same answer is a tool call.
    let plain = ResponseContext {
        answer_tool: None,
        ..ctx
    };
    let (out, _) = to_chat_completion(&tool_answer(), &plain).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
}

fn sctx(answer_tool: Option<&str>) -> StreamContext {
    StreamContext {
        id: "c".into(),
        model: BY_TOOL.into(),
        created: 1,
        include_usage: false,
        answer_tool: answer_tool.map(Into::into),
    }
}

fn contents(sse: &[u8]) -> (String, Vec<Value>) {
    let mut text = String::new();
    let mut chunks = Vec::new();
    for line in String::from_utf8(sse.to_vec())
        .unwrap()
        .split("\n\n")
        .filter_map(|l| l.strip_prefix("data: "))
    {
        if line == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(line).unwrap();
        text.push_str(v["choices"][0]["delta"]["content"].as_str().unwrap_or(""));
        chunks.push(v);
    }
    (text, chunks)
}

#[test]
fn the_answer_tool_streams_as_content() {
    let e = |name: &str, payload: Value| event_frame(name, &payload);
    let stream = [
        e("messageStart", json!({"role": "assistant"})),
        e("contentBlockStart", json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "person"}}})),
        e("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"name\":"}}})),
        e("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "\"Ann\"}"}}})),
        e("contentBlockStop", json!({"contentBlockIndex": 0})),
        e("messageStop", json!({"stopReason": "tool_use"})),
    ]
    .concat();
    let mut tr = StreamTranslator::new(sctx(Some("person")), 1 << 20);
    let mut out = tr.feed(&stream);
    out.extend(tr.finish());
    let (text, chunks) = contents(&out);
    assert_eq!(text, "{\"name\":\"Ann\"}");
    assert!(chunks
        .iter()
        .all(|c| c["choices"][0]["delta"].get("tool_calls").is_none()));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    // Replayed (a model that takes no tools while streaming): the same content.
    let (sse, _) = replay::to_sse(&tool_answer(), &sctx(Some("person"))).unwrap();
    let (text, chunks) = contents(&sse);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"name": "Ann", "pets": []})
    );
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

// ---------------------------------------------------------------- caching

fn cached_body(model: &str) -> Value {
    let mark = json!({"type": "ephemeral"});
    json!({"model": model,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}, "cache_control": mark}],
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Long rules.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
            {"role": "user", "content": [{"type": "text", "text": "Context.", "cache_control": mark},
                                         {"type": "text", "text": "Question?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Answer.", "cache_control": mark}]},
            {"role": "user", "content": "Next?", "cache_control": mark}]})
}

#[test]
fn cache_control_becomes_a_cache_point_after_its_block() {
    let c = translated(cached_body("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
    // Five markers: the earliest (the tool's) is dropped, the last four kept.
    assert_eq!(c["toolConfig"]["tools"].as_array().unwrap().len(), 1);
    assert_eq!(
        c["system"],
        json!([{"text": "Long rules."}, {"cachePoint": {"type": "default", "ttl": "1h"}}])
    );
    assert_eq!(
        c["messages"][0]["content"],
        json!([{"text": "Context."}, {"cachePoint": {"type": "default"}},
                                                   {"text": "Question?"}])
    );
    assert_eq!(
        c["messages"][1]["content"][1],
        json!({"cachePoint": {"type": "default"}})
    );
    assert_eq!(
        c["messages"][2]["content"],
        json!([{"text": "Next?"}, {"cachePoint": {"type": "default"}}])
    );
    let points = c.to_string().matches("cachePoint").count();
    assert_eq!(points, MAX_CACHE_POINTS);
}

#[test]
fn cache_points_follow_the_models_positions_and_ttl() {
    // Claude 3.7: caching, but no 1h time to live.
    let c = translated(cached_body("us.anthropic.claude-3-7-sonnet-20250219-v1:0"));
    assert_eq!(c["system"][1], json!({"cachePoint": {"type": "default"}}));
    // Nova: no cache points in tools.
    let c = translated(cached_body(NOVA));
    assert!(!c["toolConfig"].to_string().contains("cachePoint"));
    assert_eq!(c["system"][1], json!({"cachePoint": {"type": "default"}}));
    // No caching at all: every marker dropped.
    let c = translated(cached_body("anthropic.claude-3-haiku-20240307-v1:0"));
    assert!(!c.to_string().contains("cachePoint"), "{c}");
}

#[test]
fn the_auto_policy_caches_the_system_prompt_and_the_tools() {
    let plain = json!({"model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "messages": [{"role": "system", "content": "Rules."}, {"role": "user", "content": "Hi"}]});
    let c = translate_with(&plain, true).unwrap();
    assert_eq!(
        c["system"],
        json!([{"text": "Rules."}, {"cachePoint": {"type": "default"}}])
    );
    assert_eq!(
        c["toolConfig"]["tools"][1],
        json!({"cachePoint": {"type": "default"}})
    );
    assert!(!c["messages"].to_string().contains("cachePoint"));
    let c = translate_with(&plain, false).unwrap();
    assert!(!c.to_string().contains("cachePoint"));
    // Not twice where the caller already marked the end.
    let mut marked = plain.clone();
    marked["messages"][0] =
        json!({"role": "system", "content": "Rules.", "cache_control": {"type": "ephemeral"}});
    let c = translate_with(&marked, true).unwrap();
    assert_eq!(c["system"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_cache_control_is_a_400_naming_it() {
    for (mark, param) in [
        (
            json!({"type": "persistent"}),
            "messages.[0].content.[0].cache_control.type",
        ),
        (
            json!({"type": "ephemeral", "ttl": "24h"}),
            "messages.[0].content.[0].cache_control.ttl",
        ),
        (json!("yes"), "messages.[0].content.[0].cache_control"),
    ] {
        let e = refused(
            json!({"model": NOVA, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "x", "cache_control": mark}]}]}),
        );
        assert_eq!(e.param.as_deref(), Some(param), "{e}");
    }
}

// ---------------------------------------------------------------- documents

fn file(data: &str, name: Option<&str>) -> Value {
    let mut f = json!({"type": "file", "file": {"file_data": data}});
    if let Some(n) = name {
        f["file"]["filename"] = json!(n);
    }
    f
}

#[test]
fn file_parts_become_named_documents() {
    let c = translated(
        json!({"model": NOVA, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Compare."},
        file(&format!("data:application/pdf;base64,{PDF}"), Some("Q3 report.pdf")),
        file("data:text/csv;base64,YSxiCjEsMgo=", Some("Q3 report.csv")),
        file("data:text/markdown;base64,IyBoaQo=", None)]}]}),
    );
    let content = &c["messages"][0]["content"];
    assert_eq!(
        content[1],
        json!({"document": {"format": "pdf", "name": "Q3 report", "source": {"bytes": PDF}}})
    );
    assert_eq!(content[2]["document"]["name"], "Q3 report (2)");
    assert_eq!(content[2]["document"]["format"], "csv");
    assert_eq!(content[3]["document"]["name"], "document");
    assert_eq!(content[3]["document"]["format"], "md");
}

#[test]
fn documents_get_the_text_bedrock_wants_beside_them_and_stay_within_limits() {
    let c = translated(
        json!({"model": NOVA, "messages": [{"role": "user", "content": [
        file(&format!("data:application/pdf;base64,{PDF}"), None)]}]}),
    );
    assert_eq!(
        c["messages"][0]["content"][1],
        json!({"text": DOCUMENT_TEXT})
    );
    let six: Vec<Value> = (0..6)
        .map(|_| file(&format!("data:application/pdf;base64,{PDF}"), None))
        .collect();
    let e = refused(json!({"model": NOVA, "messages": [{"role": "user", "content": six}]}));
    assert_eq!(e.param.as_deref(), Some("messages"));
}

#[test]
fn document_refusals_name_the_part() {
    let pdf = format!("data:application/pdf;base64,{PDF}");
    for (model, message, param) in [
        (
            String::from("mistral.mistral-small-2402-v1:0"),
            json!({"role": "user", "content": [{"type": "text", "text": "x"}, file(&pdf, None)]}),
            "messages.[0].content.[1]",
        ),
        (
            "amazon.nova-micro-v1:0".into(),
            json!({"role": "user", "content": [{"type": "text", "text": "x"}, file(&pdf, None)]}),
            "messages.[0].content.[1]",
        ),
        (
            NOVA.into(),
            json!({"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}),
            "messages.[0].content.[0].file.file_id",
        ),
        (
            NOVA.into(),
            json!({"role": "user", "content": [file("data:image/svg+xml;base64,PHN2Zz4=", None)]}),
            "messages.[0].content.[0].file.file_data",
        ),
        (
            NOVA.into(),
            json!({"role": "user", "content": [file("https://example.com/a.pdf", None)]}),
            "messages.[0].content.[0].file.file_data",
        ),
        (
            NOVA.into(),
            json!({"role": "system", "content": [file(&pdf, None)]}),
            "messages.[0].content.[0]",
        ),
    ] {
        let e = refused(
            json!({"model": model, "messages": [message, {"role": "user", "content": "go"}]}),
        );
        assert_eq!(e.param.as_deref(), Some(param), "{model}: {e}");
    }
}

#[test]
fn tool_results_carry_images_and_documents() {
    let c = translated(json!({"model": NATIVE,
        "tools": [{"type": "function", "function": {"name": "shot", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "user", "content": "Take a screenshot."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": [
                {"type": "text", "text": "Here:"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}},
                file(&format!("data:application/pdf;base64,{PDF}"), Some("log.pdf"))]}]}));
    let result = &c["messages"][2]["content"][0]["toolResult"];
    assert_eq!(result["content"][0], json!({"text": "Here:"}));
    assert_eq!(result["content"][1]["image"]["format"], "png");
    assert_eq!(result["content"][2]["document"]["name"], "log");
    // A model without images refuses an image in a tool result.
    let e = refused(json!({"model": "mistral.mistral-large-2402-v1:0",
        "tools": [{"type": "function", "function": {"name": "shot", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "user", "content": "Take a screenshot."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": [
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}]}]}));
    assert_eq!(e.param.as_deref(), Some("messages.[2].content.[0]"));
}

// ---------------------------------------------------------------- citations

#[test]
fn cited_text_is_kept_and_web_sources_become_annotations() {
    let body = json!({"output": {"message": {"role": "assistant", "content": [
        {"text": "Before. "},
        {"citationsContent": {"content": [{"text": "The cited part."}], "citations": [
            {"title": "Doc", "location": {"documentPage": {"documentIndex": 0, "start": 1, "end": 2}}},
            {"title": "Page", "location": {"web": {"url": "https://example.com/p", "domain": "example.com"}}}]}},
        {"text": " After."}]}}, "stopReason": "end_turn"});
    let ctx = ResponseContext {
        id: "c",
        model: NOVA,
        created: 1,
        answer_tool: None,
    };
    let (out, _) = to_chat_completion(body.to_string().as_bytes(), &ctx).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let message = &v["choices"][0]["message"];
    assert_eq!(message["content"], "Before. The cited part. After.");
    assert_eq!(
        message["annotations"],
        json!([{"type": "url_citation", "url_citation": {
        "start_index": 8, "end_index": 23, "title": "Page", "url": "https://example.com/p"}}])
    );
}
