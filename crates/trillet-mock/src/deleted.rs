//! What the mock has deleted: the paths it answered a `DELETE` for, per workspace,
//! so that the resource is gone afterwards (a 404 where the operation documents
//! one), as the real API's would be.
//!
//! This is the only state the generic handler keeps: a created resource is not
//! stored, and an updated one does not change. A cancelled batch (`DELETE
//! /v1/api/batch-calls/{batchId}`) is forgotten too, though the API may still
//! report it as `cancelled`. Bounded: past [`Deleted::CAP`] paths the oldest are
//! forgotten (and served again).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// The deleted paths, oldest first, and the same as a set.
#[derive(Debug, Default)]
pub(crate) struct Deleted(Mutex<(VecDeque<String>, HashSet<String>)>);

impl Deleted {
    /// The most paths remembered.
    pub(crate) const CAP: usize = 10_000;

    fn key(workspace: &str, path: &str) -> String {
        format!("{workspace}\n{}", path.trim_end_matches('/'))
    }

    /// Notes that `path` (as requested, percent-encoded) was deleted in `workspace`.
    pub(crate) fn insert(&self, workspace: &str, path: &str) {
        let key = Self::key(workspace, path);
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (order, set) = &mut *guard;
        if set.insert(key.clone()) {
            order.push_back(key);
            while order.len() > Self::CAP {
                if let Some(oldest) = order.pop_front() {
                    set.remove(&oldest);
                }
            }
        }
    }

    /// Whether `path` or a path above it (`/a/b` for `/a/b/c`) was deleted in
    /// `workspace`.
    pub(crate) fn covers(&self, workspace: &str, path: &str) -> bool {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let path = path.trim_end_matches('/');
        let mut ends: Vec<usize> = path
            .match_indices('/')
            .map(|(i, _)| i)
            .filter(|&i| i > 0)
            .collect();
        ends.push(path.len());
        ends.iter()
            .any(|&end| guard.1.contains(&Self::key(workspace, &path[..end])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_path_and_everything_below_it_are_gone_in_its_workspace_only() {
        let deleted = Deleted::default();
        deleted.insert("w1", "/v1/api/flow-folders/f1");
        assert!(deleted.covers("w1", "/v1/api/flow-folders/f1"));
        assert!(deleted.covers("w1", "/v1/api/flow-folders/f1/"));
        assert!(deleted.covers("w1", "/v1/api/flow-folders/f1/flows/p1"));
        assert!(!deleted.covers("w1", "/v1/api/flow-folders/f10"));
        assert!(!deleted.covers("w1", "/v1/api/flow-folders"));
        assert!(!deleted.covers("w2", "/v1/api/flow-folders/f1"));
    }

    #[test]
    fn past_the_cap_the_oldest_are_forgotten() {
        let deleted = Deleted::default();
        for i in 0..=Deleted::CAP {
            deleted.insert("w", &format!("/x/{i}"));
        }
        assert!(!deleted.covers("w", "/x/0"));
        assert!(deleted.covers("w", "/x/1"));
        assert!(deleted.covers("w", &format!("/x/{}", Deleted::CAP)));
    }
}
