//! The supported Bedrock models and what each one accepts.

/// What one Bedrock model accepts through Converse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// Bedrock model id, as callers send it in `model`.
    pub id: &'static str,
    /// Takes Converse `system` blocks.
    pub system_prompt: bool,
    /// Takes `toolConfig` in Converse.
    pub tools: bool,
    /// Takes `toolConfig` in ConverseStream.
    pub tools_streaming: bool,
    /// Takes image blocks.
    pub images: bool,
}

const fn model(
    id: &'static str,
    system_prompt: bool,
    tools: bool,
    tools_streaming: bool,
    images: bool,
) -> ModelInfo {
    ModelInfo {
        id,
        system_prompt,
        tools,
        tools_streaming,
        images,
    }
}

/// Capability table (BEDROCK.md "The nine seed models"); the README repeats it.
pub const MODELS: [ModelInfo; 9] = [
    model("amazon.titan-text-express-v1", false, false, false, false),
    model(
        "anthropic.claude-3-sonnet-20240229-v1:0",
        true,
        true,
        true,
        true,
    ),
    model(
        "anthropic.claude-3-haiku-20240307-v1:0",
        true,
        true,
        true,
        true,
    ),
    model(
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        true,
        true,
        true,
        true,
    ),
    model("meta.llama3-8b-instruct-v1:0", true, false, false, false),
    model("meta.llama3-70b-instruct-v1:0", true, false, false, false),
    model(
        "mistral.mistral-7b-instruct-v0:2",
        false,
        false,
        false,
        false,
    ),
    model(
        "mistral.mixtral-8x7b-instruct-v0:1",
        false,
        false,
        false,
        false,
    ),
    model("mistral.mistral-large-2402-v1:0", true, true, false, false),
];

/// Looks a model up by its exact id.
pub fn find(id: &str) -> Option<&'static ModelInfo> {
    MODELS.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_ids_only() {
        assert!(find("meta.llama3-8b-instruct-v1:0").is_some());
        assert!(find("meta.llama3-8b-instruct-v1").is_none());
        assert!(find("META.llama3-8b-instruct-v1:0").is_none());
    }

    #[test]
    fn ids_are_unique() {
        for (i, a) in MODELS.iter().enumerate() {
            assert!(MODELS.iter().skip(i + 1).all(|b| b.id != a.id));
        }
    }
}
