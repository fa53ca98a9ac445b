//! Cache points: where the model takes them, at most four per request, and
//! the project's `prompt_caching: "auto"`.
//!
//! A `cache_control` marker becomes a `cachePoint` right after its block (or
//! tool). On a model without prompt caching, or in a place the model takes
//! none (Nova caches no tools), the marker is dropped; a `1h` time to live
//! becomes Bedrock's default (5 minutes) on models without the extended one.
//! Past four, the earliest are dropped (in Bedrock's order: tools, system,
//! messages): a cache point caches everything before it, so the last four
//! cover the most.

use crate::bedrock::converse::{
    CachePointBlock, ContentBlock, ConverseRequest, SystemBlock, ToolEntry,
};
use crate::catalog::resolve::Model;

/// Bedrock's limit on cache points in one request.
pub const MAX_CACHE_POINTS: usize = 4;

const AUTO: CachePointBlock = CachePointBlock {
    kind: "default",
    ttl: None,
};

fn keep_block(keep: bool, seen_content: &mut bool, previous_was_point: &mut bool) -> bool {
    let k = keep && *seen_content && !*previous_was_point;
    *previous_was_point = true;
    k
}

/// Applies the model's caching rules (and the `auto` policy) to `out`.
pub(super) fn apply(model: &Model, auto: bool, out: &mut ConverseRequest) {
    let info = model.info;
    let positions = info.prompt_caching;
    let ttl_ok = info.cache_ttl_1h;
    let fix_ttl = |p: &mut CachePointBlock| {
        if !ttl_ok {
            p.ttl = None;
        }
    };
    // Tools.
    if let Some(config) = out.tool_config.as_mut() {
        let ends_with_point = matches!(config.tools.last(), Some(ToolEntry::CachePoint(_)));
        if auto && positions.tools && !ends_with_point && !config.tools.is_empty() {
            config.tools.push(ToolEntry::CachePoint(AUTO));
        }
        let (mut seen, mut prev) = (false, false);
        config.tools.retain_mut(|t| match t {
            ToolEntry::CachePoint(p) => {
                fix_ttl(p);
                keep_block(positions.tools, &mut seen, &mut prev)
            }
            ToolEntry::ToolSpec(_) => {
                seen = true;
                prev = false;
                true
            }
        });
    }
    // System.
    let ends_with_point = matches!(out.system.last(), Some(SystemBlock::CachePoint(_)));
    if auto && positions.system && !ends_with_point && !out.system.is_empty() {
        out.system.push(SystemBlock::CachePoint(AUTO));
    }
    let (mut seen, mut prev) = (false, false);
    out.system.retain_mut(|b| match b {
        SystemBlock::CachePoint(p) => {
            fix_ttl(p);
            keep_block(positions.system, &mut seen, &mut prev)
        }
        SystemBlock::Text(_) => {
            seen = true;
            prev = false;
            true
        }
    });
    // Messages.
    for turn in &mut out.messages {
        let (mut seen, mut prev) = (false, false);
        turn.content.retain_mut(|b| match b {
            ContentBlock::CachePoint(p) => {
                fix_ttl(p);
                keep_block(positions.messages, &mut seen, &mut prev)
            }
            _ => {
                seen = true;
                prev = false;
                true
            }
        });
    }
    limit(out);
}

/// Drops the earliest cache points past [`MAX_CACHE_POINTS`].
fn limit(out: &mut ConverseRequest) {
    let tools = out.tool_config.as_ref().map_or(0, |c| {
        c.tools
            .iter()
            .filter(|t| matches!(t, ToolEntry::CachePoint(_)))
            .count()
    });
    let system = out
        .system
        .iter()
        .filter(|b| matches!(b, SystemBlock::CachePoint(_)))
        .count();
    let messages: usize = out
        .messages
        .iter()
        .map(|m| {
            m.content
                .iter()
                .filter(|b| matches!(b, ContentBlock::CachePoint(_)))
                .count()
        })
        .sum();
    let mut excess = (tools + system + messages).saturating_sub(MAX_CACHE_POINTS);
    let mut take = |is_point: bool| {
        if is_point && excess > 0 {
            excess -= 1;
            false
        } else {
            true
        }
    };
    if let Some(config) = out.tool_config.as_mut() {
        config
            .tools
            .retain(|t| take(matches!(t, ToolEntry::CachePoint(_))));
    }
    out.system
        .retain(|b| take(matches!(b, SystemBlock::CachePoint(_))));
    for turn in &mut out.messages {
        turn.content
            .retain(|b| take(matches!(b, ContentBlock::CachePoint(_))));
    }
}
