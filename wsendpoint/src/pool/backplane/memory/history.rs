//! [`Histories`]: what a [`MemoryBroker`](super::MemoryBroker) keeps of the histories of its
//! hubs' endpoints, as Redis keeps a stream and a hash per key.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use axum::body::Bytes;

use crate::base::config::HistoryConfig;
use crate::pool::backplane::HistoryPage;

/// Every history, by the name of its entries.
#[derive(Default)]
pub(super) struct Histories {
    by_name: HashMap<String, History>,
}

/// One key's history.
struct History {
    epoch: String,
    top: u64,
    /// Offset, time recorded, entry; oldest first.
    entries: VecDeque<(u64, Instant, Bytes)>,
}

impl Histories {
    /// Appends `entry` to history `name`, which starts at `new_epoch` if it has none; its epoch
    /// and offset.
    pub(super) fn record(
        &mut self,
        name: &str,
        entry: Bytes,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> (String, u64) {
        let history = self.history(name, new_epoch);
        if history
            .entries
            .back()
            .is_some_and(|(_, _, last)| *last == entry)
        {
            // A retry of the last record (every record is unique): as Redis's script does.
            return (history.epoch.clone(), history.top);
        }
        history.top += 1;
        let now = Instant::now();
        history.entries.push_back((history.top, now, entry));
        while history.entries.len() > retention.size {
            history.entries.pop_front();
        }
        (history.epoch.clone(), history.top)
    }

    /// The entries of history `name` after `after` that are still kept.
    pub(super) fn read(
        &mut self,
        name: &str,
        after: u64,
        retention: HistoryConfig,
        new_epoch: &str,
    ) -> HistoryPage {
        let history = self.history(name, new_epoch);
        let now = Instant::now();
        let entries = history
            .entries
            .iter()
            .filter(|(offset, at, _)| *offset > after && now.duration_since(*at) < retention.ttl)
            .map(|(offset, _, entry)| (*offset, entry.clone()))
            .collect();
        HistoryPage {
            epoch: history.epoch.clone(),
            top: history.top,
            entries,
        }
    }

    /// Forgets every history, as a broker that restarted without its data.
    pub(super) fn clear(&mut self) {
        self.by_name.clear();
    }

    fn history(&mut self, name: &str, new_epoch: &str) -> &mut History {
        self.by_name
            .entry(name.to_owned())
            .or_insert_with(|| History {
                epoch: new_epoch.to_owned(),
                top: 0,
                entries: VecDeque::new(),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_history_keeps_its_newest_entries_in_its_first_epoch() {
        let mut histories = Histories::default();
        let retention = HistoryConfig::new(Duration::from_secs(60)).with_size(2);
        histories.record("h", Bytes::from(vec![1u8]), retention, "e1");
        let (_, again) = histories.record("h", Bytes::from(vec![1u8]), retention, "e1");
        assert_eq!(again, 1, "a retry is kept once");
        for n in 2..=3u8 {
            let (epoch, offset) = histories.record("h", Bytes::from(vec![n]), retention, "e1");
            assert_eq!((epoch.as_str(), offset), ("e1", u64::from(n)));
        }
        let page = histories.read("h", 0, retention, "e2");
        assert_eq!((page.epoch.as_str(), page.top), ("e1", 3));
        let offsets: Vec<u64> = page.entries.iter().map(|(offset, _)| *offset).collect();
        assert_eq!(offsets, [2, 3]);
        assert!(histories.read("h", 3, retention, "e2").entries.is_empty());
        histories.clear();
        let page = histories.read("h", 3, retention, "e2");
        assert_eq!(
            (page.epoch.as_str(), page.top),
            ("e2", 0),
            "lost: a new epoch"
        );
    }
}
