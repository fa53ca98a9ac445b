//! Plugin configuration: arbitrary bytes are refused with a typed error or
//! give a config within the documented limits.
#![no_main]

use bedrock_openai_filter::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Config::from_json(data) else {
        return;
    };
    assert!(!c.projects.is_empty(), "config without projects");
    assert!((1024..=64 * 1024 * 1024).contains(&c.max_request_bytes));
    assert!((1..=3600).contains(&c.max_timeout_seconds));
    for (i, p) in c.projects.iter().enumerate() {
        assert!(
            !p.name.is_empty() && p.name.len() <= 64,
            "project name {:?}",
            p.name
        );
        for q in &c.projects[i + 1..] {
            assert!(
                q.name != p.name && q.key_sha256 != p.key_sha256,
                "duplicate project"
            );
        }
    }
    // Parsing is a function of the bytes.
    match Config::from_json(data) {
        Ok(again) => assert_eq!(again, c),
        Err(e) => panic!("second parse failed: {e}"),
    }
});
