//! The names of Bedrock's request options, written once: the service tiers
//! (Converse `serviceTier.type`) and the latency modes
//! (`performanceConfig.latency`). Requests, the plugin configuration and
//! answers all read and write them through these types.

/// A Bedrock service tier (Converse `serviceTier.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceTier {
    /// Faster, at a premium.
    Priority,
    /// Standard.
    Default,
    /// Cheaper, slower, for work that can wait.
    Flex,
}

impl ServiceTier {
    /// Every tier.
    pub const ALL: [ServiceTier; 3] = [
        ServiceTier::Priority,
        ServiceTier::Default,
        ServiceTier::Flex,
    ];

    /// The name both APIs use.
    pub fn name(self) -> &'static str {
        match self {
            ServiceTier::Priority => "priority",
            ServiceTier::Default => "default",
            ServiceTier::Flex => "flex",
        }
    }

    /// The tier named `name`.
    pub fn from_name(name: &str) -> Option<ServiceTier> {
        ServiceTier::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Converse `performanceConfig.latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// The model as usual.
    Standard,
    /// Its latency-optimized version (some models, some Regions).
    Optimized,
}

impl Latency {
    /// Every latency mode.
    pub const ALL: [Latency; 2] = [Latency::Standard, Latency::Optimized];

    /// Converse's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Latency::Standard => "standard",
            Latency::Optimized => "optimized",
        }
    }

    /// The latency mode named `name`.
    pub fn from_name(name: &str) -> Option<Latency> {
        Latency::ALL.into_iter().find(|l| l.name() == name)
    }
}
