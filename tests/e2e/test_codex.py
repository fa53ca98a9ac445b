"""Codex CLI (npm @openai/codex, which speaks only the Responses API) with a custom model
provider pointing at the gateway: `codex exec` answers a prompt, and runs one tool call.
Offline: analytics and plugins off, no other host than the gateway is reached."""

import os
import subprocess

from e2e.keys import PERMANENT, PROJECT_KEY_ALPHA

CODEX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node", "node_modules",
                     ".bin", "codex")
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"

CONFIG = """\
model = "{model}"
model_provider = "bedrock-gateway"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false

[model_providers.bedrock-gateway]
name = "Amazon Bedrock through bedrock-openai-filter"
base_url = "{base_url}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[model_providers.bedrock-gateway.env_http_headers]
"Project-Api-Key" = "PROJECT_API_KEY"
"aws-access-key-id" = "AWS_ACCESS_KEY_ID"
"aws-secret-access-key" = "AWS_SECRET_ACCESS_KEY"
"aws-region-name" = "AWS_REGION"
"""


def codex(gateway, tmp_path, prompt):
    home = tmp_path / "codex-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(CONFIG.format(model=MODEL, base_url=gateway.base_url))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CODEX_HOME": str(home),
           "PROJECT_API_KEY": PROJECT_KEY_ALPHA, "AWS_ACCESS_KEY_ID": PERMANENT["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": PERMANENT["secret_access_key"], "AWS_REGION": "us-east-1"}
    argv = [CODEX, "exec", "--skip-git-repo-check", "--ephemeral", "--strict-config",
            "--dangerously-bypass-approvals-and-sandbox", "-C", str(work),
            "-o", str(tmp_path / "last-message.txt"), prompt]
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    last = (tmp_path / "last-message.txt").read_text() if (tmp_path / "last-message.txt").exists() else ""
    return done, last


def test_codex_exec_answers_a_prompt(gateway, standin, tmp_path):
    done, last = codex(gateway, tmp_path, "Say hi.")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert last.strip() == f"Hello from the Bedrock stand-in ({MODEL})."
    [req] = standin.requests()
    assert req["operation"] == "ConverseStream"
    body = req["json"]
    assert "coding agent" in body["system"][0]["text"], "Codex's developer messages are the system prompt"
    names = [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"] if "toolSpec" in t]
    assert "exec_command" in names
    assert all(n.startswith("multi_agent_v1__") for n in names if "agent" in n), names


def test_codex_exec_runs_one_tool_call(gateway, standin, tmp_path):
    standin.script({"tool_use": [{"name": "exec_command", "input": {"cmd": "echo hello-from-codex"}}]})
    done, last = codex(gateway, tmp_path, "Run echo hello-from-codex and tell me what it printed.")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert last.strip() == f"Hello from the Bedrock stand-in ({MODEL})."
    first, second = standin.requests()
    assert [first["operation"], second["operation"]] == ["ConverseStream", "ConverseStream"]
    messages = second["json"]["messages"]
    call = next(b["toolUse"] for m in messages for b in m["content"] if "toolUse" in b)
    assert call["name"] == "exec_command" and call["input"] == {"cmd": "echo hello-from-codex"}
    result = next(b["toolResult"] for m in messages for b in m["content"] if "toolResult" in b)
    assert result["toolUseId"] == call["toolUseId"]
    assert "hello-from-codex" in result["content"][0]["text"]
