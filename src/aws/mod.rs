//! AWS concerns, in one place: ARNs, Regions and endpoints, the credentials
//! an upstream call is made with (SigV4 keys, Bedrock API keys, or Envoy's
//! own signer), SigV4 itself, and the signed headers of one upstream call.

pub mod arn;
pub mod auth;
pub mod bearer;
pub mod call;
pub mod endpoint;
pub mod sigv4;
