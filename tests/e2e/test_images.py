"""Images end to end: inline data: URLs → Converse image blocks; everything else refused."""

import base64
import struct
import zlib

import pytest

from e2e.helpers import CLAUDE, LLAMA, assert_openai_error, chat_body, last_converse, post

MAX_IMAGE_BYTES = 3_750_000  # Bedrock's limit on one image, decoded (src/openai/image.rs)
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # the gateway's default request cap


def png(width=2, height=2, rgb=(255, 0, 0)):
    """A small, real PNG (8-bit RGB, no filter)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG_B64 = base64.b64encode(png()).decode()


def image_part(url):
    return {"type": "image_url", "image_url": {"url": url}}


def user_with_image(url, text="What is in this picture?"):
    return {"role": "user", "content": [{"type": "text", "text": text}, image_part(url)]}


def test_png_data_url_becomes_an_image_block(client, standin):
    resp = client.chat.completions.create(model=CLAUDE, messages=[
        {"role": "system", "content": "Describe images."},
        user_with_image(f"data:image/png;base64,{PNG_B64}")])
    assert resp.choices[0].message.content == f"Hello from the Bedrock stand-in ({CLAUDE})."
    sent = last_converse(standin)["json"]
    assert sent["messages"] == [{"role": "user", "content": [
        {"text": "What is in this picture?"},
        {"image": {"format": "png", "source": {"bytes": PNG_B64}}}]}]
    assert base64.b64decode(sent["messages"][0]["content"][1]["image"]["source"]["bytes"]) == png()


def test_image_streamed(client, standin):
    chunks = list(client.chat.completions.create(
        model=CLAUDE, stream=True, messages=[user_with_image(f"data:image/png;base64,{PNG_B64}")]))
    assert chunks[-1].choices[0].finish_reason == "stop"
    [seen] = standin.requests()
    assert seen["operation"] == "ConverseStream" and seen["status"] == 200
    assert seen["json"]["messages"][0]["content"][1] == {"image": {"format": "png", "source": {"bytes": PNG_B64}}}


def test_image_just_under_the_request_cap_is_forwarded(gateway, standin):
    # 3,000,000 bytes decoded = 4,000,000 base64 characters: under the 4 MiB request cap.
    data = png() + b"\x00" * (3_000_000 - len(png()))
    b64 = base64.b64encode(data).decode()
    body = chat_body(model=CLAUDE, messages=[user_with_image(f"data:image/png;base64,{b64}")])
    r = post(gateway, body)
    assert r.status_code == 200, r.text[:500]
    sent = last_converse(standin)["json"]
    assert sent["messages"][0]["content"][1]["image"]["source"]["bytes"] == b64


def test_image_over_bedrocks_limit_is_413_from_the_request_cap(gateway, standin):
    # Any image over 3,750,000 bytes decoded is >= 5,000,000 characters of base64, which is
    # over the 4 MiB request cap: the gateway answers 413 before it reads the image, in OpenAI's
    # shape. (The 400 for an image over Bedrock's limit is only reachable with a raised
    # limits.max_request_bytes; the launcher offers no way to raise it.)
    data = b"\x00" * (MAX_IMAGE_BYTES + 50_000)
    b64 = base64.b64encode(data).decode()
    assert len(b64) > MAX_REQUEST_BYTES
    r = post(gateway, chat_body(model=CLAUDE, messages=[user_with_image(f"data:image/png;base64,{b64}")]))
    err = assert_openai_error(r, 413, param=None, kind="invalid_request_error", code="request_too_large")
    assert str(MAX_REQUEST_BYTES) in err["message"]
    assert standin.requests() == []


def refused(gateway, standin, body, param):
    err = assert_openai_error(post(gateway, body), 400, param=param, kind="invalid_request_error")
    assert standin.requests() == []
    return err


@pytest.mark.parametrize("model", [LLAMA, "amazon.titan-text-express-v1", "mistral.mistral-large-2402-v1:0"])
def test_image_for_a_model_without_images(gateway, standin, model):
    messages = [{"role": "system", "content": "Describe images."},
                user_with_image(f"data:image/png;base64,{PNG_B64}")]
    err = refused(gateway, standin, chat_body(model=model, messages=messages), "messages.[1].content.[1]")
    assert model in err["message"]


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://127.0.0.1:1/cat.png"])
def test_image_urls_are_not_fetched(gateway, standin, url):
    err = refused(gateway, standin, chat_body(model=CLAUDE, messages=[user_with_image(url)]),
                  "messages.[0].content.[1].image_url.url")
    assert "not fetched" in err["message"]


@pytest.mark.parametrize("url", [
    "data:image/png;base64,!!!not base64!!!",
    "data:image/png;base64,iVBORw0KGgo",     # bad padding / truncated
    "data:image/png;base64,",                # empty
], ids=["garbage", "truncated", "empty"])
def test_undecodable_base64(gateway, standin, url):
    err = refused(gateway, standin, chat_body(model=CLAUDE, messages=[user_with_image(url)]),
                  "messages.[0].content.[1].image_url.url")
    assert "base64" in err["message"]


@pytest.mark.parametrize("url", [f"data:image/bmp;base64,{PNG_B64}", f"data:image/png,{PNG_B64}",
                                 "ftp://example.com/x.png"], ids=["bmp", "not-base64-url", "ftp"])
def test_other_image_urls(gateway, standin, url):
    refused(gateway, standin, chat_body(model=CLAUDE, messages=[user_with_image(url)]),
            "messages.[0].content.[1].image_url.url")


def test_image_outside_a_user_message(gateway, standin):
    messages = [{"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [image_part(f"data:image/png;base64,{PNG_B64}")]},
                {"role": "user", "content": "What did you draw?"}]
    refused(gateway, standin, chat_body(model=CLAUDE, messages=messages), "messages.[1].content.[0]")
