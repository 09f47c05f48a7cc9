//! "Did you mean ...?": the closest of the expected names to a near miss.

/// The candidate `written` most likely misspells: one a few edits away (case aside), or one that
/// `written` begins or ends (`"drop"` for `"drop_newest"`, `"origins"` for `"allowed_origins"`).
/// `None` when nothing is close.
pub(crate) fn closest<'c>(written: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let written = written.to_ascii_lowercase();
    if written.is_empty() {
        return None;
    }
    let by_distance = candidates
        .iter()
        .map(|candidate| {
            (
                distance(&written, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| {
            *distance <= (candidate.len().max(written.len()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate);
    by_distance.or_else(|| {
        candidates.iter().copied().find(|candidate| {
            let candidate = candidate.to_ascii_lowercase();
            written.len() >= 3
                && (candidate.starts_with(&written)
                    || candidate.ends_with(&written)
                    || written.starts_with(&candidate))
        })
    })
}

/// `"; did you mean `x`?"`, to end a message; or nothing.
pub(crate) fn did_you_mean(written: &str, candidates: &[&str]) -> String {
    closest(written, candidates)
        .map(|candidate| format!("; did you mean `{candidate}`?"))
        .unwrap_or_default()
}

/// Edit distance in chars, counting a swap of two neighbours as one edit (optimal string
/// alignment), so `clsoe` is one edit from `close`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Rows of the distance table: between the first i chars of `a` and the first j of `b`.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current.push(best);
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kee", "key"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("clsoe", "close"), 1);
    }

    #[test]
    fn near_misses_are_suggested() {
        let options = ["close", "drop_newest"];
        assert_eq!(closest("drop", &options), Some("drop_newest"));
        assert_eq!(closest("Close", &options), Some("close"));
        assert_eq!(closest("clsoe", &options), Some("close"));
        assert_eq!(closest("block", &options), None);
        assert_eq!(closest("kee", &["key", "room"]), Some("key"));
        assert_eq!(closest("_key", &["key"]), Some("key"));
        assert_eq!(closest("x", &["key"]), None);
        assert_eq!(
            closest("origins", &["key", "allowed_origins"]),
            Some("allowed_origins")
        );
        assert_eq!(closest("kib", &["B", "KB", "KiB"]), Some("KiB"));
    }
}
