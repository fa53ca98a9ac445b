//! A streamed answer as Responses events: the order and fields the SDKs
//! check, the same bytes for every chunking, failures as `response.failed`.

use super::harness::*;
use super::support::{event_frame, frame};
use serde_json::{json, Value};

fn event(name: &str, mut payload: Value) -> Vec<u8> {
    payload["p"] = json!("abcdefghijklmnop");
    event_frame(name, &payload)
}

fn usage() -> Vec<u8> {
    event(
        "metadata",
        json!({"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}, "metrics": {"latencyMs": 10}}),
    )
}

fn text_and_tool() -> Vec<u8> {
    [
        event("messageStart", json!({"role": "assistant"})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Think "}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hard."}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "c2ln"}}})),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"text": "Héllo, "}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"text": "wörld 😀"}})),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event("contentBlockStart", json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "t1", "name": "ns__get"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"city\":"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "\"Paris\"}"}}})),
        event("contentBlockStop", json!({"contentBlockIndex": 2})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        usage(),
    ]
    .concat()
}

fn request() -> Value {
    json!({"model": SONNET, "stream": true, "reasoning": {"effort": "low", "summary": "auto"},
           "include": ["reasoning.encrypted_content"],
           "tools": [{"type": "namespace", "name": "ns", "description": "", "tools": [{"type": "function", "name": "get"}]}],
           "input": "Weather in Paris?"})
}

#[test]
fn events_come_in_the_order_and_shape_the_sdks_check() {
    let mut run = send(&request());
    assert!(upstream_path(&run.body_step).ends_with("/converse-stream"));
    let sse = stream(&mut run, &[&text_and_tool()]);
    let ev = events(&sse);
    let kinds: Vec<&str> = ev.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (_, data)) in ev.iter().enumerate() {
        assert_eq!(data["sequence_number"], i, "{data}");
    }
    let created = &ev[0].1["response"];
    assert_eq!(
        (created["status"].as_str(), &created["output"]),
        (Some("in_progress"), &json!([]))
    );
    let id = created["id"].as_str().unwrap();
    assert_eq!(id, "resp_req-42");
    // Items: indexes in order, the same id from added to done.
    let added: Vec<&Value> = ev
        .iter()
        .filter(|(k, _)| k == "response.output_item.added")
        .map(|(_, d)| d)
        .collect();
    let done: Vec<&Value> = ev
        .iter()
        .filter(|(k, _)| k == "response.output_item.done")
        .map(|(_, d)| d)
        .collect();
    for (i, (a, d)) in added.iter().zip(&done).enumerate() {
        assert_eq!(
            (&a["output_index"], &d["output_index"]),
            (&json!(i), &json!(i))
        );
        assert_eq!(a["item"]["id"], d["item"]["id"]);
    }
    let text_delta = &ev[11].1;
    assert_eq!(
        (
            text_delta["item_id"].clone(),
            text_delta["content_index"].clone(),
            text_delta["delta"].clone(),
            text_delta["logprobs"].clone()
        ),
        (
            added[1]["item"]["id"].clone(),
            json!(0),
            json!("Héllo, "),
            json!([])
        )
    );
    assert_eq!(ev[13].1["text"], "Héllo, wörld 😀");
    let call = &done[2]["item"];
    assert_eq!(
        (
            call["type"].as_str(),
            call["name"].as_str(),
            call["namespace"].as_str(),
            call["arguments"].as_str(),
            call["status"].as_str()
        ),
        (
            Some("function_call"),
            Some("get"),
            Some("ns"),
            Some("{\"city\":\"Paris\"}"),
            Some("completed")
        )
    );
    assert_eq!(ev[19].1["name"], "get");
    let reasoning = &done[0]["item"];
    assert_eq!(
        reasoning["summary"],
        json!([{"type": "summary_text", "text": "Think hard."}])
    );
    assert!(reasoning["encrypted_content"]
        .as_str()
        .unwrap()
        .starts_with("bof1_"));
    let completed = &ev.last().unwrap().1["response"];
    assert_eq!(completed["id"], id);
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"].as_array().unwrap().len(), 3);
    assert_eq!(
        completed["output"][1]["content"][0]["text"],
        "Héllo, wörld 😀"
    );
    assert_eq!(completed["usage"]["total_tokens"], 8);
    assert_eq!(
        completed["usage"]["output_tokens_details"],
        json!({"reasoning_tokens": 0})
    );
    assert_eq!(run.ex.record().usage.map(|u| u.total), Some(8));
}

#[test]
fn every_chunking_gives_the_same_bytes() {
    let bytes = text_and_tool();
    let whole = stream(&mut send(&request()), &[&bytes]);
    for at in (0..bytes.len()).step_by(7) {
        let (a, b) = bytes.split_at(at);
        assert_eq!(
            stream(&mut send(&request()), &[a, b]),
            whole,
            "split at {at}"
        );
    }
    let ones: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(stream(&mut send(&request()), &ones), whole);
}

#[test]
fn a_length_stop_is_incomplete_and_a_failure_is_response_failed() {
    let cut = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Partial"}}),
        ),
        event("messageStop", json!({"stopReason": "max_tokens"})),
        usage(),
    ]
    .concat();
    let ev = events(&stream(
        &mut send(&json!({"model": HAIKU, "stream": true, "input": "x"})),
        &[&cut],
    ));
    let (kind, last) = ev.last().unwrap();
    assert_eq!(kind, "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(
        last["response"]["output"][0]["content"][0]["text"],
        "Partial"
    );

    let failing = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Par"}}),
        ),
        frame(
            &[
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            &json!({"message": "slow down"}),
        ),
    ]
    .concat();
    let ev = events(&stream(
        &mut send(&json!({"model": HAIKU, "stream": true, "input": "x"})),
        &[&failing],
    ));
    let (kind, last) = ev.last().unwrap();
    assert_eq!(kind, "response.failed");
    assert_eq!(last["response"]["status"], "failed");
    assert_eq!(last["response"]["error"]["code"], "rate_limit_exceeded");
    assert!(last["response"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("slow down"));
    assert!(
        last.get("error").is_none(),
        "no top-level `error`: the SDKs would raise before reading the event"
    );

    let cut_short = [event("messageStart", json!({"role": "assistant"}))].concat();
    let ev = events(&stream(
        &mut send(&json!({"model": HAIKU, "stream": true, "input": "x"})),
        &[&cut_short],
    ));
    assert_eq!(ev.last().unwrap().0, "response.failed");
}

#[test]
fn a_model_that_cannot_stream_tools_replays_its_answer_as_events() {
    // Mistral Large takes tools but not while streaming: a buffered call, replayed.
    let mut run = send(
        &json!({"model": "mistral.mistral-large-2402-v1:0", "stream": true, "input": "x",
                               "tools": [{"type": "function", "name": "f"}]}),
    );
    assert!(upstream_path(&run.body_step).ends_with("/converse"));
    let (status, out) = answer(
        &mut run,
        200,
        &converse(
            json!([
        {"text": "Calling."}, {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}]),
            "tool_use",
        ),
    );
    assert_eq!(status, 200);
    let ev = events(&String::from_utf8(out).unwrap());
    assert_eq!(ev.first().unwrap().0, "response.created");
    let (kind, last) = ev.last().unwrap();
    assert_eq!(kind, "response.completed");
    assert_eq!(last["response"]["output"][1]["arguments"], "{\"a\":1}");
}
