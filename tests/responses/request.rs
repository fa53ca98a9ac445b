//! A Responses request onto Converse: input items, instructions, tools of
//! every kind, formats and reasoning; and every refusal with its `param`.

use super::harness::*;
use serde_json::{json, Value};

fn converse_of(body: Value) -> Value {
    converse_body(&send(&body).body_step)
}

fn refused(body: Value) -> (u16, Value) {
    refusal(&send(&body).body_step)
}

#[test]
fn a_string_input_is_one_user_turn() {
    let c = converse_of(json!({"model": HAIKU, "input": "Hello!", "instructions": "Be brief."}));
    assert_eq!(c["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        c["messages"],
        json!([{"role": "user", "content": [{"text": "Hello!"}]}])
    );
}

#[test]
fn codex_shaped_input_becomes_alternating_turns_with_system_text() {
    let c = converse_of(json!({
        "model": SONNET, "stream": true, "store": false, "tool_choice": "auto",
        "parallel_tool_calls": true, "reasoning": {"summary": "auto"},
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "thread-1",
        "client_metadata": {"thread_id": "t"},
        "tools": [
            {"type": "function", "name": "exec_command", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.",
             "tools": [{"type": "function", "name": "spawn_agent", "strict": false,
                        "parameters": {"type": "object", "properties": {}}}]},
            {"type": "web_search", "external_web_access": false}
        ],
        "input": [
            {"type": "message", "id": "msg_1", "role": "developer",
             "content": [{"type": "input_text", "text": "You are a coding agent."}]},
            {"type": "message", "id": "msg_2", "role": "user",
             "content": [{"type": "input_text", "text": "List files."}]},
            {"type": "function_call", "id": "fc_9", "call_id": "call_1", "name": "exec_command",
             "arguments": "{\"cmd\":\"ls\"}", "status": "completed"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
            {"type": "function_call", "call_id": "call_2", "name": "spawn_agent",
             "namespace": "multi_agent_v1", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "spawned"}]}
        ]
    }));
    assert_eq!(c["system"], json!([{"text": "You are a coding agent."}]));
    let names: Vec<&str> = c["toolConfig"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["toolSpec"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["exec_command", "multi_agent_v1__spawn_agent"],
        "web_search dropped"
    );
    let m = &c["messages"];
    assert_eq!(
        m[1]["content"][0]["toolUse"],
        json!({"toolUseId": "call_1", "name": "exec_command", "input": {"cmd": "ls"}})
    );
    assert_eq!(
        m[2]["content"][0]["toolResult"]["content"],
        json!([{"text": "a.txt\nb.txt"}])
    );
    assert_eq!(
        m[3]["content"][0]["toolUse"]["name"],
        "multi_agent_v1__spawn_agent"
    );
    assert_eq!(
        m[4]["content"][0]["toolResult"]["content"],
        json!([{"text": "spawned"}])
    );
    assert_eq!(m.as_array().unwrap().len(), 5);
    assert_eq!(c["toolConfig"]["toolChoice"], json!({"auto": {}}));
    assert!(
        c.get("additionalModelRequestFields").is_none(),
        "a summary alone asks no reasoning"
    );
}

#[test]
fn custom_tools_take_free_text_and_their_calls_go_back_as_input() {
    let c = converse_of(json!({
        "model": HAIKU,
        "tools": [{"type": "custom", "name": "apply_patch", "description": "Edit files.",
                   "format": {"type": "grammar", "syntax": "lark", "definition": "start: \"*** Begin Patch\""}}],
        "input": [
            {"role": "user", "content": "Add hello.txt"},
            {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch\n"},
            {"type": "custom_tool_call_output", "call_id": "c1", "output": "Done."}
        ]
    }));
    let spec = &c["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(spec["name"], "apply_patch");
    assert_eq!(spec["description"], "Edit files.");
    assert_eq!(spec["inputSchema"]["json"]["required"], json!(["input"]));
    let input = spec["inputSchema"]["json"]["properties"]["input"]["description"]
        .as_str()
        .unwrap();
    assert!(
        input.contains("(lark grammar)\nstart: \"*** Begin Patch\""),
        "{input}"
    );
    assert_eq!(
        c["messages"][1]["content"][0]["toolUse"]["input"],
        json!({"input": "*** Begin Patch\n"})
    );
}

#[test]
fn images_documents_and_assistant_text_go_where_chat_puts_them() {
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let pdf = "data:application/pdf;base64,JVBERi0xLjQK";
    let c = converse_of(json!({"model": HAIKU, "input": [
        {"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": png, "detail": "auto"},
            {"type": "input_file", "filename": "report.pdf", "file_data": pdf}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "A chart.", "annotations": []}]},
        {"role": "user", "content": "And the file?"}
    ]}));
    let first = &c["messages"][0]["content"];
    assert_eq!(
        first[1]["image"],
        json!({"format": "png", "source": {"bytes": "iVBORw0KGgo="}})
    );
    assert_eq!(first[2]["document"]["name"], "report");
    assert_eq!(first[2]["document"]["format"], "pdf");
    assert_eq!(
        c["messages"][1],
        json!({"role": "assistant", "content": [{"text": "A chart."}]})
    );
}

#[test]
fn formats_reasoning_and_sampling_map_as_chat_does() {
    let c = converse_of(json!({
        "model": SONNET, "input": "Give JSON.", "max_output_tokens": 9000,
        "reasoning": {"effort": "medium", "summary": "detailed"},
        "text": {"format": {"type": "json_schema", "name": "answer", "strict": true,
                            "schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
                 "verbosity": "low"},
        "metadata": {"team": "search"}, "safety_identifier": "user-7", "service_tier": "default"
    }));
    assert_eq!(
        c["additionalModelRequestFields"]["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(c["inferenceConfig"]["maxTokens"], 9000);
    assert!(
        c["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"]
            .as_str()
            .unwrap()
            .contains("additionalProperties")
    );
    assert_eq!(
        c["requestMetadata"],
        json!({"project": "team-a", "user": "user-7", "team": "search"})
    );
    assert_eq!(c["serviceTier"], json!({"type": "default"}));
}

#[test]
fn every_refusal_names_its_param() {
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"model": HAIKU, "input": "x", "previous_response_id": "resp_1"}),
            400,
            "previous_response_id",
            "keeps no state",
        ),
        (
            json!({"model": HAIKU, "input": "x", "conversation": "conv_1"}),
            400,
            "conversation",
            "keeps no state",
        ),
        (
            json!({"model": HAIKU, "input": "x", "background": true}),
            400,
            "background",
            "keeps no state",
        ),
        (json!({"model": HAIKU}), 400, "input", "required"),
        (json!({"model": HAIKU, "input": []}), 400, "input", "empty"),
        (
            json!({"model": HAIKU, "input": "x", "tools": [{"type": "file_search", "vector_store_ids": []}]}),
            400,
            "tools.[0].type",
            "built-in",
        ),
        (
            json!({"model": HAIKU, "input": "x", "tools": [{"type": "mcp", "server_label": "s"}]}),
            400,
            "tools.[0].type",
            "built-in",
        ),
        (
            json!({"model": HAIKU, "input": "x", "frobnicate": 1}),
            400,
            "frobnicate",
            "not supported",
        ),
        (
            json!({"model": HAIKU, "input": "x", "truncation": "auto"}),
            400,
            "truncation",
            "disabled",
        ),
        (
            json!({"model": HAIKU, "input": "x", "include": ["message.output_text.logprobs"]}),
            400,
            "include.[0]",
            "log probabilities",
        ),
        (
            json!({"model": HAIKU, "input": "x", "reasoning": {"effort": "extreme"}}),
            400,
            "reasoning.effort",
            "must be",
        ),
        (
            json!({"model": HAIKU, "input": "x", "text": {"format": {"type": "json_schema", "name": "a"}}}),
            400,
            "text.format.schema",
            "schema",
        ),
        (
            json!({"model": HAIKU, "input": [{"role": "robot", "content": "x"}]}),
            400,
            "input.[0].role",
            "Unknown role",
        ),
        (
            json!({"model": HAIKU, "input": [{"type": "web_search_call", "id": "ws_1"}]}),
            400,
            "input.[0].type",
            "not supported",
        ),
        (
            json!({"model": HAIKU, "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]}),
            400,
            "input.[0].content.[0].image_url",
            "not fetched",
        ),
        (
            json!({"model": HAIKU, "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}),
            400,
            "input.[0].content.[0].file_id",
            "no file store",
        ),
        (
            json!({"model": HAIKU, "input": [{"type": "function_call", "call_id": "bad id!", "name": "f", "arguments": "{}"}]}),
            400,
            "input.[0].call_id",
            "call_id",
        ),
        (
            json!({"model": HAIKU, "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{"}]}),
            400,
            "input.[0].arguments",
            "JSON",
        ),
        (
            json!({"model": HAIKU, "input": [{"type": "reasoning", "summary": [], "encrypted_content": "gAAAA-openai"}]}),
            400,
            "input.[0].encrypted_content",
            "not reasoning this gateway wrote",
        ),
        (
            json!({"model": HAIKU, "input": [{"type": "item_reference", "id": "msg_123"}]}),
            400,
            "input.[0]",
            "store: false",
        ),
        (
            json!({"model": HAIKU, "input": "x", "tool_choice": {"type": "function", "name": "f"}}),
            400,
            "tool_choice.name",
            "not in `tools`",
        ),
        (
            json!({"model": "gpt-4o", "input": "x"}),
            404,
            "model",
            "not supported",
        ),
    ];
    for (body, status, param, words) in cases {
        let (got, e) = refused(body.clone());
        assert_eq!(got, status, "{body}: {e}");
        assert_eq!(e["error"]["param"], param, "{body}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{body}: {e}"
        );
    }
}

#[test]
fn a_model_rule_refuses_as_for_chat() {
    // Llama 3 8B takes no tools on Bedrock: the same 400 as chat completions.
    let (status, e) = refused(
        json!({"model": "meta.llama3-8b-instruct-v1:0", "input": "x",
        "tools": [{"type": "function", "name": "f"}]}),
    );
    assert_eq!((status, e["error"]["param"].as_str()), (400, Some("tools")));
}
