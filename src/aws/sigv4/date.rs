//! The request time as SigV4 writes it.

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYYMMDDTHHMMSSZ` for `now` (UTC; a time before 1970 signs as 1970).
pub fn amz_date(now: SystemTime) -> [u8; 16] {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut out = *b"00000000T000000Z";
    let fields: [(usize, usize, u64); 6] = [
        (0, 4, y),
        (4, 2, m),
        (6, 2, d),
        (9, 2, rem / 3600),
        (11, 2, rem % 3600 / 60),
        (13, 2, rem % 60),
    ];
    for (start, width, mut value) in fields {
        if let Some(slot) = out.get_mut(start..start + width) {
            for b in slot.iter_mut().rev() {
                *b = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
    }
    out
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}
