"""The libraries people put in front of OpenAI-compatible endpoints, on a plain chat, streamed
and not: LangChain (langchain-openai, @langchain/openai) and the Vercel AI SDK (ai +
@ai-sdk/openai-compatible). Structured output through them is in test_structured.py."""

from langchain_openai import ChatOpenAI

from e2e.helpers import LLAMA, default_headers, node_client

CLAUDE_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def langchain(gateway, model):
    return ChatOpenAI(model=model, base_url=gateway.base_url, api_key="sk-openai-unused", max_retries=0,
                      default_headers=default_headers(), stream_usage=True)


def test_langchain_python_chats_and_streams(gateway, standin):
    reply = langchain(gateway, LLAMA).invoke("Hello!")
    assert reply.content == f"Hello from the Bedrock stand-in ({LLAMA})."
    assert reply.usage_metadata["total_tokens"] > 0
    chunks = list(langchain(gateway, CLAUDE_45).stream("Hello!"))
    assert "".join(c.content for c in chunks) == f"Hello from the Bedrock stand-in ({CLAUDE_45})."
    assert sum((c.usage_metadata or {}).get("total_tokens", 0) for c in chunks) > 0
    ops = [r["operation"] for r in standin.requests()]
    assert ops == ["Converse", "ConverseStream"]


def test_langchain_js_streams(gateway, standin):
    r = node_client(gateway, "langchain-stream", CLAUDE_45)["result"]
    assert r["text"] == f"Hello from the Bedrock stand-in ({CLAUDE_45})."
    assert r["usage"]["total_tokens"] > 0
    assert standin.requests()[0]["operation"] == "ConverseStream"


def test_the_vercel_ai_sdk_streams_text(gateway, standin):
    r = node_client(gateway, "vercel-stream", CLAUDE_45)["result"]
    assert r["text"] == f"Hello from the Bedrock stand-in ({CLAUDE_45})."
    assert r["finishReason"] == "stop"
    assert r["usage"]["totalTokens"] > 0
    assert standin.requests()[0]["operation"] == "ConverseStream"
