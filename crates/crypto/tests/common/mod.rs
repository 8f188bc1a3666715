//! Shared by the golden-vector tests: reading `name = value` files with `#` comments.

use std::collections::BTreeMap;

/// The `name = value` lines of a golden file, comments and blank lines skipped.
pub fn parse_golden(text: &'static str) -> BTreeMap<&'static str, &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(" = "))
        .collect()
}
